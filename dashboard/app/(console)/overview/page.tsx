"use client";
import { parseAsStringLiteral, useQueryState, useQueryStates } from "nuqs";
import { useMemo, useState } from "react";

import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Stat } from "@/components/ui/card";
import { useTimeseries } from "@/lib/api/usage";
import { downloadCsv, toCsv } from "@/lib/csv";
import { formatInt, formatMs, formatPct, formatUsd } from "@/lib/format";
import { regroup, totals } from "@/lib/timeseries";

import { Breakdown } from "./breakdown";
import { UsageCharts } from "./usage-charts";
import { OverviewControls, RANGES, rangeWindow, timeZoneParser } from "./controls";

const CSV_COLUMNS = [
  "label",
  "start",
  "requests",
  "prompt_tokens",
  "completion_tokens",
  "cost_usd",
  "errors",
  "error_rate",
  "p50_ms",
  "p95_ms",
  "p99_ms",
  "cache_hits",
  "cache_saved_usd",
  "routing_saved_usd",
] as const;

export default function OverviewPage() {
  const [{ range, granularity }] = useQueryStates({
    range: parseAsStringLiteral(RANGES).withDefault("24h"),
    granularity: parseAsStringLiteral(["hour", "day"] as const).withDefault("hour"),
  });
  const [timeZone] = useQueryState("tz", timeZoneParser);
  // The window is fixed when the page opens (or the range changes), so queries stay cached.
  const [now] = useState(() => new Date());
  const span = useMemo(() => rangeWindow(range, now), [range, now]);
  const series = useTimeseries({ ...span, interval: "1h", group_by: "none" });
  const rows = useMemo(
    () => regroup(series.data?.data ?? [], granularity, timeZone),
    [series.data, granularity, timeZone],
  );
  const sum = totals(rows);

  return (
    <div className="flex flex-col gap-6">
      <div className="flex flex-wrap items-end justify-between gap-4">
        <h1 className="text-2xl font-semibold">Overview</h1>
        <OverviewControls />
      </div>
      {series.error ? <Alert tone="error">{series.error.message}</Alert> : null}
      <div className="grid grid-cols-2 gap-3 md:grid-cols-4 xl:grid-cols-8">
        <Stat label="Requests" value={formatInt(sum.requests)} />
        <Stat label="Tokens" value={formatInt(sum.tokens)} />
        <Stat label="Cost" value={formatUsd(sum.cost_usd)} />
        <Stat label="Error rate" value={formatPct(sum.error_rate)} />
        <Stat label="Worst hourly p95" value={formatMs(sum.p95_ms)} />
        <Stat label="Cache hits" value={sum.requests ? formatPct(sum.cache_hits / sum.requests) : "—"} />
        <Stat label="Cache saved" value={formatUsd(sum.cache_saved_usd)} />
        <Stat label="Routing saved" value={formatUsd(sum.routing_saved_usd)} />
      </div>
      <div className="flex justify-end">
        <Button
          variant="outline"
          size="sm"
          disabled={!rows.length}
          onClick={() => downloadCsv(`usage-${range}-${granularity}.csv`, toCsv(rows, [...CSV_COLUMNS]))}
        >
          Export CSV
        </Button>
      </div>
      <UsageCharts rows={rows} granularity={granularity} />
      <Breakdown window={span} />
    </div>
  );
}
