import { describe, expect, it } from "vitest";

import { waterfall } from "./waterfall";

describe("waterfall", () => {
  it("lays stages end to end as shares of the total", () => {
    const bars = waterfall({ identify: 1, route: 1, dispatch: 8 });
    expect(bars.map((b) => [b.stage, b.offsetPct, b.widthPct])).toEqual([
      ["identify", 0, 10],
      ["route", 10, 10],
      ["dispatch", 20, 80],
    ]);
  });

  it("skips what is not a duration", () => {
    expect(waterfall({ a: "x", b: -1, c: Number.NaN, d: 2 }).map((b) => b.stage)).toEqual(["d"]);
  });
});
