/**
 * Usage points regrouped for display: hourly buckets shown in the reporting time zone,
 * or summed into that zone's calendar days (not UTC's), totals and per-group breakdowns.
 *
 * Sums (requests, tokens, cost, errors, savings) add up exactly. Percentiles cannot be
 * added: a day's latency is its worst hour's percentile, and labelled so.
 */
import type { Point } from "./api/usage";

export type Granularity = "hour" | "day";

export interface Row {
  start: string; // ISO instant the bucket starts
  label: string; // the bucket in the reporting time zone
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  tokens: number;
  cost_usd: number;
  errors: number;
  error_rate: number;
  cache_hits: number;
  cache_saved_usd: number;
  routing_saved_usd: number;
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
}

export interface GroupTotals {
  group: string;
  requests: number;
  tokens: number;
  cost_usd: number;
  errors: number;
  error_rate: number;
}

function dayOf(iso: string, timeZone: string): string {
  // en-CA formats as YYYY-MM-DD: sortable, and unambiguous in every locale.
  return new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" }).format(
    new Date(iso),
  );
}

function hourOf(iso: string, timeZone: string): string {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  }).formatToParts(new Date(iso));
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? "";
  return `${part("year")}-${part("month")}-${part("day")} ${part("hour")}:${part("minute")}`;
}

function rowOf(point: Point, label: string): Row {
  return {
    start: point.start,
    label,
    requests: point.requests,
    prompt_tokens: point.prompt_tokens,
    completion_tokens: point.completion_tokens,
    tokens: point.tokens,
    cost_usd: point.cost_usd,
    errors: point.errors,
    error_rate: point.error_rate,
    cache_hits: point.cache_hits,
    cache_saved_usd: point.cache_saved_usd,
    routing_saved_usd: point.routing_saved_usd,
    p50_ms: point.latency_ms.p50,
    p95_ms: point.latency_ms.p95,
    p99_ms: point.latency_ms.p99,
  };
}

function merge(into: Row, row: Row): void {
  into.requests += row.requests;
  into.prompt_tokens += row.prompt_tokens;
  into.completion_tokens += row.completion_tokens;
  into.tokens += row.tokens;
  into.cost_usd += row.cost_usd;
  into.errors += row.errors;
  into.cache_hits += row.cache_hits;
  into.cache_saved_usd += row.cache_saved_usd;
  into.routing_saved_usd += row.routing_saved_usd;
  into.error_rate = into.requests ? into.errors / into.requests : 0;
  into.p50_ms = Math.max(into.p50_ms, row.p50_ms);
  into.p95_ms = Math.max(into.p95_ms, row.p95_ms);
  into.p99_ms = Math.max(into.p99_ms, row.p99_ms);
}

/** Ungrouped points as display rows: per hour, or per calendar day of `timeZone`. */
export function regroup(points: Point[], granularity: Granularity, timeZone: string): Row[] {
  const rows = new Map<string, Row>();
  for (const point of [...points].sort((a, b) => a.start.localeCompare(b.start))) {
    const label = granularity === "day" ? dayOf(point.start, timeZone) : hourOf(point.start, timeZone);
    const row = rowOf(point, label);
    const existing = rows.get(label);
    if (existing) merge(existing, row);
    else rows.set(label, row);
  }
  return [...rows.values()];
}

export function totals(rows: Row[]): Omit<Row, "start" | "label"> {
  const sum: Row = rowOf(
    {
      start: "",
      group: null,
      requests: 0,
      prompt_tokens: 0,
      completion_tokens: 0,
      tokens: 0,
      cost_usd: 0,
      errors: 0,
      error_rate: 0,
      latency_ms: { p50: 0, p95: 0, p99: 0 },
      cache_hits: 0,
      cache_saved_usd: 0,
      routing_saved_usd: 0,
    },
    "",
  );
  for (const row of rows) merge(sum, row);
  const { start: _start, label: _label, ...rest } = sum;
  return rest;
}

/** Grouped points summed per group over the whole range, most costly first. */
export function breakdown(points: Point[]): GroupTotals[] {
  const groups = new Map<string, GroupTotals>();
  for (const point of points) {
    const name = point.group ?? "(none)";
    const group = groups.get(name) ?? { group: name, requests: 0, tokens: 0, cost_usd: 0, errors: 0, error_rate: 0 };
    group.requests += point.requests;
    group.tokens += point.tokens;
    group.cost_usd += point.cost_usd;
    group.errors += point.errors;
    group.error_rate = group.requests ? group.errors / group.requests : 0;
    groups.set(name, group);
  }
  return [...groups.values()].sort((a, b) => b.cost_usd - a.cost_usd || b.requests - a.requests);
}
