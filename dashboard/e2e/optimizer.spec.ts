/**
 * Optimizer: the approaches the gateway allows, and a real run (moa, through the optimizer
 * service) found among the recent requests with its fan-out and cost, then opened.
 */
import { expect, test } from "@playwright/test";

import { MASTER_KEY, gatewayClient, inspect, logIn, openPage } from "./support";

test("an admin sees the approaches and a run's fan-out and cost", async ({ page }) => {
  const client = gatewayClient();
  const body = { model: "gpt-4o-mini", max_tokens: 64, messages: [{ role: "user" as const, content: "2 + 2?" }] };
  let parent = "";
  let calls = 0;
  // The gateway reads the optimizer's catalogue on first use; on a busy machine the first
  // run may fall back to a plain call: run until one goes through the optimizer.
  await expect(async () => {
    const { response } = await client.chat.completions
      .create({ ...body, optillm_approach: "moa" } as typeof body)
      .withResponse();
    const summary = response.headers.get("x-gateway-optimizer") ?? "";
    expect(summary).toMatch(/^moa; /);
    expect(summary).not.toContain("fallback");
    calls = Number(/calls=(\d+)/.exec(summary)?.[1] ?? 0);
    parent = response.headers.get("x-request-id") ?? "";
  }).toPass({ timeout: 120_000 });
  expect(calls).toBeGreaterThan(1);

  await logIn(page, MASTER_KEY);
  await openPage(page, "Optimizer");
  await expect(page.getByLabel("Default-on approaches")).toContainText("moa");
  await expect(page.getByLabel("Opt-in approaches")).toContainText("mcts");
  await expect(page.getByLabel("Never allowed approaches")).toContainText("executecode");
  await expect(page.getByText("An optimizer service is configured.")).toBeVisible();

  const run = page.locator(`tr[data-parent="${parent}"]`);
  await expect(async () => {
    await page.getByRole("button", { name: "Refresh runs" }).click();
    await expect(run.locator("td").nth(1)).toHaveText(String(calls), { timeout: 1_000 });
  }).toPass({ timeout: 20_000 });
  await expect(run).toContainText("gpt-4o-mini");
  await run.getByRole("button", { name: `Sub-calls of ${parent}` }).click();
  await expect(page).toHaveURL(new RegExp(`run=${parent}`));
  const detail = page.getByLabel("Optimizer run");
  await expect(detail.getByRole("table", { name: "Sub-calls" }).locator("tbody tr")).toHaveCount(calls);
  // The parent's record carries its sub-calls' summed tokens and cost.
  await expect(detail.getByText("Cost, all sub-calls")).toBeVisible();
  await expect(run.locator("td").nth(4)).toHaveText(/^\$/);
  await inspect(page, "optimizer");
});
