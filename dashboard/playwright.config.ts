import { defineConfig } from "@playwright/test";

// Driven by tests/dashboard/test_browser.py, which starts the gateway and the simulator
// and passes their addresses. Debian's Chromium: Playwright's own download cannot work here.
export default defineConfig({
  testDir: "./e2e",
  // Generous: the machines running this share two cores among many processes.
  timeout: 300_000,
  expect: { timeout: 15_000 },
  workers: 1,
  retries: 0,
  reporter: [["list"]],
  outputDir: process.env.ARTIFACTS_DIR ? `${process.env.ARTIFACTS_DIR}/playwright` : "test-results",
  use: {
    baseURL: process.env.GATEWAY_URL,
    launchOptions: { executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", args: ["--no-sandbox"] },
    viewport: { width: 1440, height: 900 },
    trace: "retain-on-failure",
  },
});
