/** A readonly token on the Prompts, Guardrails, Sessions, Optimizer and Settings pages: it reads, and sees no write control. */
import { expect, test } from "@playwright/test";

import { inspect, issueReadonlyToken, logIn, logOut, openPage } from "./support";

test("a readonly token reads the newer pages and sees no write control", async ({ page }) => {
  const token = await issueReadonlyToken(page, `readonly-pages-${Date.now()}`);
  await logOut(page);
  await logIn(page, token);

  await openPage(page, "Prompts");
  const templates = page.getByRole("table", { name: "Prompt templates" });
  await expect(templates.locator("tbody tr").first()).toBeVisible(); // prompts.spec made one
  await expect(page.getByRole("button", { name: "Create prompt" })).toHaveCount(0);
  await templates.getByRole("button", { name: /^Open / }).first().click();
  await expect(page.getByRole("table", { name: "Prompt versions" })).toBeVisible();
  await expect(page.getByRole("textbox", { name: "Message 1 template" })).toHaveAttribute("contenteditable", "false");
  for (const control of ["Save as new version", "Add message", "Move label", "Start experiment", "End experiment"]) {
    await expect(page.getByRole("button", { name: control })).toHaveCount(0);
  }
  await inspect(page, "prompts-readonly");

  await openPage(page, "Guardrails");
  await expect(page.getByRole("table", { name: "Guardrail policies" })).toBeVisible();
  await expect(page.getByRole("button", { name: /Save policy|Remove/ })).toHaveCount(0);
  await inspect(page, "guardrails-readonly");

  await openPage(page, "Sessions");
  await expect(page.getByRole("table", { name: "Agent sessions" })).toBeVisible();
  await openPage(page, "Optimizer");
  await expect(page.getByLabel("Default-on approaches")).toBeVisible();
  await openPage(page, "Settings");
  await expect(page.getByRole("table", { name: "Audit log" })).toBeVisible();
  await expect(page.getByRole("button", { name: "Issue token" })).toHaveCount(0);
  await expect(page.getByLabel("Team", { exact: true })).toHaveCount(0);
});
