import { describe, expect, it } from "vitest";

import type { LogEntry } from "@/lib/api/logs";

import { runsOf } from "./runs";

function row(fields: Partial<LogEntry>): LogEntry {
  return {
    request_id: "r",
    started_at: "2026-01-01T00:00:00Z",
    prompt_tokens: 0,
    completion_tokens: 0,
    cost_usd: 0,
    parent_request_id: null,
    model_routed: null,
    model_requested: null,
    ...fields,
  } as LogEntry;
}

describe("runsOf", () => {
  it("sums each run's sub-calls and leaves out requests that are no one's sub-call", () => {
    const rows = [
      row({ parent_request_id: "p1", prompt_tokens: 10, completion_tokens: 5, cost_usd: 0.5, model_routed: "a" }),
      row({ parent_request_id: "p1", prompt_tokens: 1, completion_tokens: 1, cost_usd: 0.25, model_routed: "a" }),
      row({ parent_request_id: "p2", started_at: "2026-01-02T00:00:00Z", model_routed: "b" }),
      row({}),
    ];
    expect(runsOf(rows)).toEqual([
      { parent: "p2", calls: 1, tokens: 0, costUsd: 0, models: ["b"], lastAt: "2026-01-02T00:00:00Z" },
      { parent: "p1", calls: 2, tokens: 17, costUsd: 0.75, models: ["a"], lastAt: "2026-01-01T00:00:00Z" },
    ]);
  });
});
