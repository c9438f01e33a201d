import { describe, expect, it } from "vitest";

import { keyFields } from "./key-fields";

describe("keyFields", () => {
  it("sends only what was filled in, lists split and numbers parsed", () => {
    expect(
      keyFields({
        name: " ci ",
        team_id: "",
        budget_id: "bud_1",
        allowed_models: "gpt-4o-mini, ,gpt-4o",
        max_tokens_cap: "2048",
        rpm: "",
        tpm: " 1000 ",
      }),
    ).toEqual({ name: "ci", budget_id: "bud_1", allowed_models: ["gpt-4o-mini", "gpt-4o"], max_tokens_cap: 2048, tpm: 1000 });
  });
});
