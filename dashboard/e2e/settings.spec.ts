/**
 * Settings: a developer token is issued for a team (the gateway requires one), and the
 * audit log shows who made that write, filtered to admin tokens.
 */
import { expect, test } from "@playwright/test";

import { MASTER_KEY, inspect, logIn, openPage } from "./support";

test("an admin issues a team's developer token and reads the audit log", async ({ page }) => {
  await logIn(page, MASTER_KEY);
  await openPage(page, "Teams, users, budgets");
  const team = `e2e-team-${Date.now()}`;
  await page.getByLabel("Team name").fill(team);
  await page.getByRole("button", { name: "Create team" }).click();
  await expect(page.getByRole("table", { name: "Teams" }).getByRole("cell", { name: team, exact: true })).toBeVisible();

  await openPage(page, "Settings");
  const name = `dev-${Date.now()}`;
  await page.getByLabel("Token name").fill(name);
  await page.getByLabel("Role", { exact: true }).selectOption("developer");
  await page.getByLabel("Team", { exact: true }).selectOption({ label: team });
  await page.getByRole("button", { name: "Issue token" }).click();
  await expect(page.getByTestId("issued-token")).toHaveText(/^sk-gwadmin-/);
  const token = page.getByRole("table", { name: "Admin tokens" }).getByRole("row").filter({ hasText: name });
  await expect(token).toContainText("developer");
  await expect(token).toContainText(/team_/);

  const audit = page.getByRole("table", { name: "Audit log" });
  await page.getByLabel("Target").fill("admin_tokens");
  await page.getByRole("button", { name: "Filter audit log" }).click();
  const newest = audit.locator("tbody tr").first();
  await expect(newest).toContainText("POST /admin/tokens");
  await expect(newest).toContainText("master");
  await newest.getByText("before / after").click();
  await expect(newest).toContainText(name);
  await inspect(page, "settings-audit");
});
