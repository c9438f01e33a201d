/** Sessions: an agent's calls that share an x-session-id, listed and read step by step. */
import { expect, test } from "@playwright/test";

import { MASTER_KEY, gatewayClient, inspect, logIn, openPage } from "./support";

test("an admin reads an agent session step by step", async ({ page }) => {
  const session = `e2e-agent-${Date.now()}`;
  const client = gatewayClient();
  const ids: string[] = [];
  for (const [model, content] of [
    ["gpt-4o-mini", "plan the change"],
    ["gpt-4o", "write the patch"],
  ] as const) {
    const { response } = await client.chat.completions
      .create({ model, messages: [{ role: "user", content }] }, { headers: { "x-session-id": session } })
      .withResponse();
    ids.push(response.headers.get("x-request-id") ?? "");
  }

  await logIn(page, MASTER_KEY);
  const row = page.locator(`tr[data-session-id="${session}"]`);
  // The spend log is written in batches: open the page again until both steps are in.
  await expect(async () => {
    await openPage(page, "Sessions");
    await expect(row.locator("td").nth(1)).toHaveText("2", { timeout: 1_000 });
  }).toPass({ timeout: 20_000 });
  await expect(row).toContainText("gpt-4o-mini");
  await row.getByRole("button", { name: `Steps of ${session}` }).click();
  await expect(page).toHaveURL(new RegExp(`session=${session}`));
  const steps = page.getByRole("table", { name: "Steps" }).locator("tbody tr");
  await expect(steps).toHaveCount(2);
  await expect(steps.nth(0)).toHaveAttribute("data-request-id", ids[0] ?? "");
  await expect(steps.nth(0)).toContainText("gpt-4o-mini");
  await expect(steps.nth(1)).toHaveAttribute("data-request-id", ids[1] ?? "");
  await expect(steps.nth(1).locator("td").nth(2)).toHaveText("gpt-4o");
  await inspect(page, "sessions");
});
