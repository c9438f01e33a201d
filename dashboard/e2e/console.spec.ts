/**
 * The console end to end, in Debian's Chromium against a real gateway and the simulator:
 * log in, issue a key (its secret shown once), call the gateway with it through the
 * openai SDK, find the request in Logs and open it, revoke the key and see the next call
 * refused; a readonly token sees no write control and its forged write gets 403.
 * Every page is screenshotted and checked with axe-core.
 */
import { expect, test } from "@playwright/test";
import OpenAI from "openai";

import { GATEWAY_URL, MASTER_KEY, inspect, issueReadonlyToken, logIn, logOut, openPage } from "./support";

test.describe.configure({ mode: "serial" });

test("an admin issues a key, sees its request in the logs, and revokes it", async ({ page }) => {
  await page.goto("/ui/");
  await inspect(page, "login");
  await logIn(page, MASTER_KEY);

  await openPage(page, "Keys");
  const name = `e2e-${Date.now()}`;
  await page.getByLabel("Name", { exact: true }).fill(name);
  await page.getByRole("button", { name: "Create key" }).click();
  const secret = (await page.getByTestId("issued-secret").textContent())?.trim() ?? "";
  expect(secret).toMatch(/^sk-gw-/);
  await inspect(page, "keys");
  await page.getByRole("button", { name: "I have stored it" }).click();
  await expect(page.getByTestId("issued-secret")).toHaveCount(0);
  await page.reload();
  await expect(page.getByRole("cell", { name, exact: true })).toBeVisible();
  expect(await page.content()).not.toContain(secret); // shown once, never again

  const client = new OpenAI({ baseURL: `${GATEWAY_URL}/v1`, apiKey: secret, maxRetries: 0 });
  const { data: completion, response } = await client.chat.completions
    .create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "Hello from the browser test" }] })
    .withResponse();
  expect(completion.choices[0]?.message.content).toBeTruthy();
  const requestId = response.headers.get("x-request-id") ?? "";
  expect(requestId).not.toBe("");

  const row = page.getByRole("row").filter({ has: page.getByText(name, { exact: true }) });
  const keyId = (await row.getAttribute("data-key-id")) ?? "";
  await openPage(page, "Logs");
  await page.getByLabel("Key id").fill(keyId);
  await page.getByRole("button", { name: "Apply" }).click();
  await expect(page).toHaveURL(new RegExp(`key_id=${keyId}`));
  const logged = page.locator(`[role=row][data-request-id="${requestId}"]`);
  // The spend log is written in batches: refresh until the row has landed.
  await expect(async () => {
    await page.getByRole("button", { name: "Refresh" }).click();
    await expect(logged).toBeVisible({ timeout: 1_000 });
  }).toPass({ timeout: 20_000 });
  await logged.click();
  await expect(page).toHaveURL(new RegExp(`request=${requestId}`));
  const detail = page.getByLabel("Request detail");
  await expect(detail.getByText(`Request ${requestId}`)).toBeVisible();
  await expect(detail.getByText("gpt-4o-mini").first()).toBeVisible();
  await expect(detail.getByLabel("Stage timings")).toBeVisible();
  await inspect(page, "logs");

  await openPage(page, "Keys");
  const keyRow = page.locator(`tr[data-key-id="${keyId}"]`);
  await keyRow.getByRole("button", { name: "Revoke" }).click();
  await keyRow.getByRole("button", { name: "Confirm revoke" }).click();
  await expect(keyRow.getByText("revoked")).toBeVisible();
  await expect(
    client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "again" }] }),
  ).rejects.toMatchObject({ status: 401 });

  await openPage(page, "Overview");
  await expect(page.getByText("Requests").first()).toBeVisible();
  await inspect(page, "overview");
  await openPage(page, "Providers");
  await expect(page.getByRole("cell", { name: "mini", exact: true })).toBeVisible();
  await inspect(page, "providers");
  await openPage(page, "Teams, users, budgets");
  await inspect(page, "teams");
  await openPage(page, "Cache");
  await inspect(page, "cache");
  await openPage(page, "Settings");
  await inspect(page, "settings");
});

test("a readonly token sees no write control, and its forged write gets 403", async ({ page }) => {
  const token = await issueReadonlyToken(page, `readonly-${Date.now()}`);
  await logOut(page);

  await logIn(page, token);
  await expect(page.getByTestId("role")).toHaveText("readonly");
  await openPage(page, "Keys");
  await expect(page.getByRole("table", { name: "Virtual keys" })).toBeVisible();
  await expect(page.getByRole("button", { name: "Create key" })).toHaveCount(0);
  await expect(page.getByRole("button", { name: /Revoke|Rotate/ })).toHaveCount(0);
  await inspect(page, "keys-readonly");
  await openPage(page, "Teams, users, budgets");
  await expect(page.getByRole("button", { name: /Create|Delete/ })).toHaveCount(0);
  await openPage(page, "Cache");
  await expect(page.getByRole("button", { name: /Clear/ })).toHaveCount(0);
  await openPage(page, "Settings");
  await expect(page.getByRole("button", { name: "Issue token" })).toHaveCount(0);

  // Forged from the page itself: the session cookie and its CSRF token, a write anyway.
  const forged = await page.evaluate(async () => {
    const session = await (await fetch("/admin/session")).json();
    const answer = await fetch("/admin/keys", {
      method: "POST",
      headers: { "content-type": "application/json", "x-csrf-token": session.csrf_token },
      body: JSON.stringify({ name: "forged-by-readonly" }),
    });
    return { status: answer.status, body: await answer.json() };
  });
  expect(forged.status).toBe(403);
  expect(forged.body.error.code).toBe("insufficient_role");
});
