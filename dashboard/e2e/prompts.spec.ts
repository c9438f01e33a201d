/**
 * Prompts: an admin writes a template in the CodeMirror editor, saves a second version,
 * reads the diff, moves a label, test-renders it, and splits traffic between the two
 * versions; calls through the openai SDK then show in the experiment's results.
 */
import { expect, test } from "@playwright/test";

import { MASTER_KEY, gatewayClient, inspect, logIn, openPage } from "./support";

test("an admin versions, labels, renders and experiments on a prompt", async ({ page }) => {
  await logIn(page, MASTER_KEY);
  await openPage(page, "Prompts");
  const name = `e2e-greeting-${Date.now()}`;
  await page.getByLabel("Prompt name").fill(name);
  await page.getByRole("textbox", { name: "First user message" }).fill("Hello {{name}}, welcome.");
  await page.getByRole("button", { name: "Create prompt" }).click();
  await expect(page).toHaveURL(new RegExp(`prompt=${name}`));
  await expect(page.getByRole("heading", { name: `Prompt ${name}` })).toBeVisible();
  const listed = page.getByRole("table", { name: "Prompt templates" }).getByRole("row").filter({ hasText: name });
  await expect(listed).toContainText("production → v1");

  const editor = page.getByRole("textbox", { name: "Message 1 template" });
  await expect(editor).toHaveText("Hello {{name}}, welcome.");
  await expect(editor.locator(".cm-mustache")).toHaveText("{{name}}"); // the tag, highlighted
  await editor.fill("Hi {{name}}, welcome back.");
  await page.getByLabel("Version comment").fill("friendlier");
  await page.getByRole("button", { name: "Save as new version" }).click();
  await expect(page.getByText("Saved as v2.")).toBeVisible();
  const versions = page.getByRole("table", { name: "Prompt versions" });
  await expect(versions.locator('tr[data-version="2"]')).toContainText("friendlier");

  const diff = page.getByLabel("Version diff");
  await expect(diff).toContainText("-Hello {{name}}, welcome.");
  await expect(diff).toContainText("+Hi {{name}}, welcome back.");

  await page.getByLabel("Label", { exact: true }).fill("staging");
  await page.getByLabel("Points at").selectOption("1");
  await page.getByRole("button", { name: "Move label" }).click();
  await expect(versions.locator('tr[data-version="1"]')).toContainText("staging");
  await expect(page.getByRole("table", { name: "Label history" }).getByRole("row").nth(1)).toContainText("staging");

  await page.getByLabel("Render version").selectOption("2");
  const variables = page.getByLabel("Variables (JSON)");
  await expect(variables).toHaveValue(/"name": ""/); // offered from the template's tags
  await variables.fill('{"name": "Ada"}');
  await page.getByRole("button", { name: "Render", exact: true }).click();
  await expect(page.getByLabel("Rendered messages")).toContainText("Hi Ada, welcome back.");

  await page.getByLabel("Variant A").selectOption("1");
  await page.getByLabel("Variant B").selectOption("2");
  await page.getByLabel("Share to B (%)").fill("50");
  await page.getByLabel("Sticky by").selectOption("session");
  await page.getByRole("button", { name: "Start experiment" }).click();
  await expect(page.getByText("Running, sticky by session")).toBeVisible();

  // Two agent sessions of two calls each: each session keeps the variant it was given.
  const client = gatewayClient();
  for (const session of ["a", "a", "b", "b"]) {
    const body = { model: "gpt-4o-mini", messages: [{ role: "user" as const, content: "go" }] };
    await client.chat.completions.create({ ...body, prompt_id: name, prompt_variables: { name: "Ada" } } as typeof body, {
      headers: { "x-session-id": `${name}-${session}` },
    });
  }
  const results = page.getByRole("table", { name: "Experiment results" });
  // The spend log is written in batches: read the results again until all four are in.
  await expect(async () => {
    await page.reload();
    await expect(results.locator('tr[data-variant="v1"]')).toContainText("2", { timeout: 1_000 });
    await expect(results.locator('tr[data-variant="v2"]')).toContainText("2", { timeout: 1_000 });
  }).toPass({ timeout: 30_000 });
  await inspect(page, "prompts");
});
