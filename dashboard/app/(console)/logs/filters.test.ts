import { describe, expect, it } from "vitest";

import { toQuery, type FilterState } from "./filters";

const EMPTY: FilterState = {
  since: null,
  until: null,
  team_id: null,
  key_id: null,
  user_id: null,
  model: null,
  provider: null,
  status: null,
  cache: null,
  route: null,
  order: null,
};

describe("toQuery", () => {
  it("leaves out empty filters and passes the others as given", () => {
    expect(toQuery({ ...EMPTY, key_id: "key_1", status: "5xx", cache: "hit", model: "" })).toEqual({
      key_id: "key_1",
      status: "5xx",
      cache: "hit",
    });
  });

  it("turns the local times of the form into UTC instants and drops unreadable ones", () => {
    const query = toQuery({ ...EMPTY, since: "2026-03-01T10:00", until: "not a time" });
    expect(query.since).toBe(new Date("2026-03-01T10:00").toISOString());
    expect(query.until).toBeUndefined();
  });
});
