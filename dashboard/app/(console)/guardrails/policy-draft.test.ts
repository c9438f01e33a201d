import { describe, expect, it } from "vitest";

import { describeChecks, policyOf, type PolicyDraft } from "./policy-draft";

const DRAFT: PolicyDraft = {
  name: " words ",
  kind: "deny_list",
  action: "block",
  words: "alpha, beta ,,",
  onRequest: true,
  onResponse: false,
};

describe("policyOf", () => {
  it("makes a deny list from comma-separated words, on the stages ticked", () => {
    expect(policyOf(DRAFT)).toEqual({
      name: "words",
      on: ["request"],
      checks: { deny_list: { words: ["alpha", "beta"], action: "block" } },
    });
  });

  it("never asks the injection check to redact", () => {
    const policy = policyOf({ ...DRAFT, kind: "injection", action: "redact", onResponse: true });
    expect(policy.checks).toEqual({ injection: { action: "block" } });
    expect(policy.on).toEqual(["request", "response"]);
  });
});

describe("describeChecks", () => {
  it("names each check with its action", () => {
    expect(describeChecks({ pii: { action: "redact" }, secrets: null })).toEqual(["pii: redact"]);
  });
});
