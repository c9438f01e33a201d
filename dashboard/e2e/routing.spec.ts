/**
 * Backends & routing against a gateway in `config.mode: database`: an admin changes a
 * backend's weight, reviews the gateway's diff, applies it and finds it in the config
 * history, then rolls it back; a readonly token sees no edit control and its forged
 * config write gets 403.
 */
import { expect, test, type Page } from "@playwright/test";

import { MASTER_KEY, inspect, issueReadonlyToken, logIn, logOut, openPage } from "./support";

test.describe.configure({ mode: "serial" });

const PAGE = "Backends & routing";

async function weightOfBig(page: Page): Promise<number> {
  const answer = await page.evaluate(async () => (await fetch("/admin/config")).json());
  const big = (answer.document.backends as { name: string; weight: number }[]).find((b) => b.name === "big");
  return big?.weight ?? Number.NaN;
}

test("an admin changes a backend weight, sees the diff and the history, and rolls it back", async ({ page }) => {
  await logIn(page, MASTER_KEY);
  await openPage(page, PAGE);
  const before = await weightOfBig(page);
  const after = before + 2;

  await page.getByLabel("weight of big").fill(String(after));
  await page.getByRole("button", { name: "Review changes" }).click();
  const pending = page.getByRole("table", { name: "Pending changes" });
  const change = pending.locator('tr[data-path="backends.big.weight"]');
  await expect(change).toContainText(String(before));
  await expect(change).toContainText(String(after));
  await expect(pending.locator("tbody tr")).toHaveCount(1);
  await page.getByLabel("Comment").fill("e2e: heavier big");
  await inspect(page, "routing-review");
  await page.getByRole("button", { name: "Apply" }).click();
  await expect(page.getByText(/Applied as version \d+/)).toBeVisible();
  expect(await weightOfBig(page)).toBe(after);

  const history = page.getByRole("table", { name: "Config versions" });
  const newest = history.locator("tbody tr").first();
  await expect(newest).toContainText("e2e: heavier big");
  await expect(newest).toContainText(`backends.big.weight: ${before} → ${after}`);
  await expect(newest).toContainText("master");
  const applied = Number(await newest.getAttribute("data-version"));
  await inspect(page, "routing");

  const previous = applied - 1;
  await history.getByRole("button", { name: `Roll back to version ${previous}` }).click();
  await history.getByRole("button", { name: `Confirm rollback to version ${previous}` }).click();
  await expect(history.locator("tbody tr").first()).toContainText(`rollback to ${previous}`);
  await expect(history.locator("tbody tr").first()).toHaveAttribute("data-version", String(applied + 1));
  expect(await weightOfBig(page)).toBe(before);
  await expect(page.getByLabel("weight of big")).toHaveValue(String(before));
});

test("a readonly token reads the config but has no edit control, and its forged write gets 403", async ({ page }) => {
  const token = await issueReadonlyToken(page, `readonly-routing-${Date.now()}`);
  await logOut(page);
  await logIn(page, token);
  await openPage(page, PAGE);
  await expect(page.getByRole("table", { name: "Backends" }).getByRole("cell", { name: "big", exact: true })).toBeVisible();
  await expect(page.getByRole("table", { name: "Config versions" })).toBeVisible();
  await expect(page.getByRole("textbox")).toHaveCount(0);
  await expect(page.getByRole("combobox")).toHaveCount(0);
  await expect(page.getByRole("button", { name: /Review changes|Apply|Roll back/ })).toHaveCount(0);
  await inspect(page, "routing-readonly");

  const forged = await page.evaluate(async () => {
    const session = await (await fetch("/admin/session")).json();
    const current = await (await fetch("/admin/config")).json();
    const answer = await fetch("/admin/config", {
      method: "PUT",
      headers: { "content-type": "application/json", "x-csrf-token": session.csrf_token },
      body: JSON.stringify({ document: current.document, comment: "forged by readonly" }),
    });
    return { status: answer.status, body: await answer.json() };
  });
  expect(forged.status).toBe(403);
  expect(forged.body.error.code).toBe("insufficient_role");
});
