import { describe, expect, it } from "vitest";

import type { Point } from "./api/usage";
import { breakdown, regroup, totals } from "./timeseries";

function point(start: string, requests: number, extra: Partial<Point> = {}): Point {
  return {
    start,
    group: null,
    requests,
    prompt_tokens: requests * 10,
    completion_tokens: requests * 5,
    tokens: requests * 15,
    cost_usd: requests * 0.01,
    errors: 1,
    error_rate: 1 / requests,
    latency_ms: { p50: 100, p95: 200 + requests, p99: 300 },
    cache_hits: 0,
    cache_saved_usd: 0,
    routing_saved_usd: 0,
    ...extra,
  };
}

describe("regroup", () => {
  const points = [
    point("2026-03-01T22:00:00Z", 4),
    point("2026-03-01T23:00:00Z", 6),
    point("2026-03-02T00:00:00Z", 10),
  ];

  it("sums hours into the reporting zone's calendar days, not UTC's", () => {
    const utc = regroup(points, "day", "UTC");
    expect(utc.map((r) => [r.label, r.requests])).toEqual([
      ["2026-03-01", 10],
      ["2026-03-02", 10],
    ]);
    // In Berlin (UTC+1) 23:00 UTC is already the 2nd.
    const berlin = regroup(points, "day", "Europe/Berlin");
    expect(berlin.map((r) => [r.label, r.requests])).toEqual([
      ["2026-03-01", 4],
      ["2026-03-02", 16],
    ]);
    expect(berlin[1]?.errors).toBe(2);
    expect(berlin[1]?.error_rate).toBeCloseTo(2 / 16);
    expect(berlin[1]?.p95_ms).toBe(210); // the worst hour's percentile
  });

  it("labels hours in the reporting zone", () => {
    const tokyo = regroup(points, "hour", "Asia/Tokyo");
    expect(tokyo.map((r) => r.label)).toEqual(["2026-03-02 07:00", "2026-03-02 08:00", "2026-03-02 09:00"]);
  });

  it("totals add up exactly", () => {
    const sum = totals(regroup(points, "day", "America/Los_Angeles"));
    expect(sum.requests).toBe(20);
    expect(sum.tokens).toBe(300);
    expect(sum.cost_usd).toBeCloseTo(0.2);
  });
});

describe("breakdown", () => {
  it("sums each group over the range, most costly first", () => {
    const groups = breakdown([
      point("2026-03-01T00:00:00Z", 1, { group: "a" }),
      point("2026-03-01T00:00:00Z", 5, { group: "b" }),
      point("2026-03-01T01:00:00Z", 2, { group: "a" }),
    ]);
    expect(groups.map((g) => [g.group, g.requests])).toEqual([
      ["b", 5],
      ["a", 3],
    ]);
  });
});
