/**
 * Guardrails: an admin adds a deny-list policy, a call through the openai SDK that says the
 * word is refused, and the hit shows on the page; the policy is then removed.
 */
import { expect, test } from "@playwright/test";

import { MASTER_KEY, gatewayClient, inspect, logIn, openPage } from "./support";

interface Refusal {
  status?: number;
  headers?: Headers;
  code?: string | null;
}

test("an admin adds a policy, sees its hit, and removes it", async ({ page }) => {
  await logIn(page, MASTER_KEY);
  await openPage(page, "Guardrails");
  const policy = `e2e-words-${Date.now()}`;
  await page.getByLabel("Policy name").fill(policy);
  await page.getByLabel("Check").selectOption("deny_list");
  await page.getByLabel("Action").selectOption("block");
  await page.getByLabel("Words (comma-separated)").fill("bananaphone, kumquat");
  await page.getByRole("button", { name: "Save policy" }).click();
  const row = page.locator(`tr[data-policy="${policy}"]`);
  await expect(row).toContainText("deny_list: block");
  await expect(row).toContainText("request");

  const client = gatewayClient();
  const say = (content: string) =>
    client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content }] }).withResponse();
  // Every replica applies a new config version within a second: ask until it holds.
  let refusal: Refusal = {};
  await expect(async () => {
    refusal = await say("please call the bananaphone").then(
      () => ({}),
      (error: Refusal) => error,
    );
    expect(refusal.status).toBe(400);
  }).toPass({ timeout: 20_000 });
  expect(refusal.code).toBe("content_policy_violation");
  const requestId = refusal.headers?.get("x-request-id") ?? "";
  expect(requestId).not.toBe("");

  const hit = page.getByRole("table", { name: "Guardrail hits" }).locator(`tr[data-request-id="${requestId}"]`);
  await expect(async () => {
    await page.getByRole("button", { name: "Refresh hits" }).click();
    await expect(hit).toBeVisible({ timeout: 1_000 });
  }).toPass({ timeout: 20_000 });
  await expect(hit).toContainText("deny_list");
  await expect(hit).toContainText("block");
  await expect(hit).toContainText("400");
  await inspect(page, "guardrails");

  await row.getByRole("button", { name: `Remove ${policy}` }).click();
  await expect(row).toHaveCount(0);
  await expect(async () => {
    const { data } = await say("the bananaphone again");
    expect(data.choices[0]?.message.content).toBeTruthy();
  }).toPass({ timeout: 20_000 });
});
