import AxeBuilder from "@axe-core/playwright";
import { expect, type Page } from "@playwright/test";
import OpenAI from "openai";

export const GATEWAY_URL = required("GATEWAY_URL");
export const MASTER_KEY = required("MASTER_KEY");
const ARTIFACTS = process.env.ARTIFACTS_DIR ?? "test-artifacts";

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} must be set (tests/dashboard/test_browser.py sets it)`);
  return value;
}

export async function logIn(page: Page, token: string): Promise<void> {
  await page.goto("/ui/");
  await page.getByLabel("Token").fill(token);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
}

export async function logOut(page: Page): Promise<void> {
  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page.getByRole("button", { name: "Log in" })).toBeVisible();
}

export async function openPage(page: Page, label: string, heading = label): Promise<void> {
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: label }).click();
  await expect(page.getByRole("heading", { level: 1, name: heading })).toBeVisible();
}

/** A full-page screenshot under the artifacts folder, and no serious or critical axe finding. */
export async function inspect(page: Page, name: string): Promise<void> {
  await page.waitForLoadState("networkidle");
  await page.screenshot({ path: `${ARTIFACTS}/screenshots/${name}.png`, fullPage: true });
  const results = await new AxeBuilder({ page }).analyze();
  const blocking = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(
    blocking.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join("; ")}`),
    `accessibility on ${name}`,
  ).toEqual([]);
}

/** Logs in with the master key and issues a readonly admin token on Settings; its secret. */
export async function issueReadonlyToken(page: Page, name: string): Promise<string> {
  await logIn(page, MASTER_KEY);
  await openPage(page, "Settings");
  await page.getByLabel("Token name").fill(name);
  await page.getByLabel("Role", { exact: true }).selectOption("readonly");
  await page.getByRole("button", { name: "Issue token" }).click();
  const token = (await page.getByTestId("issued-token").textContent())?.trim() ?? "";
  expect(token).toMatch(/^sk-gwadmin-/);
  return token;
}

/** The openai SDK against the gateway, as a developer's code would call it. */
export function gatewayClient(apiKey: string = MASTER_KEY): OpenAI {
  return new OpenAI({ baseURL: `${GATEWAY_URL}/v1`, apiKey, maxRetries: 0 });
}
