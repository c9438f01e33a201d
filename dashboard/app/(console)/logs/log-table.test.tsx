import { render, screen } from "@testing-library/react";
import { beforeAll, describe, expect, it, vi } from "vitest";

import type { LogEntry } from "@/lib/api/logs";

import { LogTable } from "./log-table";

function entry(i: number): LogEntry {
  return {
    request_id: `req-${i}`,
    started_at: "2026-03-01T00:00:00Z",
    finished_at: "2026-03-01T00:00:01Z",
    api: "chat",
    status: 200,
    key_id: "key_1",
    team_id: null,
    user_id: null,
    model_requested: "gpt-4o-mini",
    model_routed: "gpt-4o-mini",
    provider: "simulator",
    deployment: "mini",
    prompt_tokens: 10,
    completion_tokens: 5,
    cached_tokens: 0,
    cost_usd: 0.001,
    latency_ms: 12,
    ttft_ms: null,
    stream: false,
    cache_hit: false,
    fallback_used: false,
    attempts: 1,
    router_score: null,
    routed_from: null,
    router: null,
    router_threshold: null,
    cost_strong_usd: null,
    error_type: null,
    trace_id: null,
    parent_request_id: null,
    prompt_name: null,
    prompt_variant: null,
    prompt_version: null,
    guardrails: [],
  };
}

describe("LogTable", () => {
  beforeAll(() => {
    // jsdom lays nothing out: give the scroller a screen's size, as a browser would.
    for (const [name, value] of [["offsetHeight", 600], ["offsetWidth", 1200], ["clientHeight", 600], ["clientWidth", 1200]] as const) {
      Object.defineProperty(HTMLElement.prototype, name, { configurable: true, get: () => value });
    }
  });

  it("puts only the rows in view in the DOM, however many are loaded", () => {
    const rows = Array.from({ length: 5_000 }, (_, i) => entry(i));
    render(
      <LogTable
        rows={rows}
        selected={null}
        onSelect={() => undefined}
        hasMore={false}
        loadingMore={false}
        onLoadMore={() => undefined}
        onRefresh={() => undefined}
      />,
    );
    expect(screen.getByText("5000 requests loaded")).toBeInTheDocument();
    const rendered = document.querySelectorAll("[data-request-id]");
    expect(rendered.length).toBeGreaterThan(0);
    expect(rendered.length).toBeLessThan(100);
  });

  it("asks for the next page when the loaded rows end in view", () => {
    const onLoadMore = vi.fn();
    render(
      <LogTable
        rows={[entry(1), entry(2)]}
        selected={null}
        onSelect={() => undefined}
        hasMore
        loadingMore={false}
        onLoadMore={onLoadMore}
        onRefresh={() => undefined}
      />,
    );
    expect(onLoadMore).toHaveBeenCalled();
  });
});
