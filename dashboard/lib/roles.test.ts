import { describe, expect, it } from "vitest";

import { can } from "./roles";

describe("can", () => {
  it("ranks roles as the gateway does", () => {
    expect(can("readonly", "read:admin")).toBe(true);
    expect(can("readonly", "write:keys")).toBe(false);
    expect(can("developer", "write:keys")).toBe(true);
    expect(can("developer", "write:teams")).toBe(false);
    expect(can("admin", "write:tokens")).toBe(true);
    expect(can("developer", "write:prompts")).toBe(true);
    expect(can("readonly", "write:prompts")).toBe(false);
    expect(can("developer", "write:guardrails")).toBe(false);
    expect(can("admin", "write:guardrails")).toBe(true);
  });

  it("gives a virtual key's session and no session nothing of the admin API", () => {
    expect(can("key", "read:admin")).toBe(false);
    expect(can(null, "read:admin")).toBe(false);
    expect(can(undefined, "write:cache")).toBe(false);
  });
});
