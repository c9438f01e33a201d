"use client";
import { Alert } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardTitle } from "@/components/ui/card";
import { useLogDetail, type LogDetail } from "@/lib/api/logs";
import { formatMs, formatTime, formatUsd } from "@/lib/format";

import { waterfall } from "./waterfall";

/** One request: who, what, where it went, what it cost, and where its time went. */
export function LogDetailPanel({ requestId, onClose }: { requestId: string; onClose: () => void }) {
  const detail = useLogDetail(requestId);
  return (
    <Card className="w-full 2xl:w-[440px]" aria-label="Request detail">
      <div className="mb-2 flex items-start justify-between gap-2">
        <CardTitle className="break-all">Request {requestId}</CardTitle>
        <Button size="sm" variant="outline" onClick={onClose}>
          Close
        </Button>
      </div>
      {detail.error ? <Alert tone="error">{detail.error.message}</Alert> : null}
      {detail.data ? <DetailBody entry={detail.data} /> : <p className="text-sm text-slate-600">Loading…</p>}
    </Card>
  );
}

function DetailBody({ entry }: { entry: LogDetail }) {
  const facts: [string, React.ReactNode][] = [
    ["Status", <Badge key="s" tone={entry.status >= 400 ? "bad" : "good"}>{entry.status}</Badge>],
    ["Started", formatTime(entry.started_at)],
    ["API", entry.api],
    ["Model asked", entry.model_requested ?? "—"],
    ["Model routed", entry.model_routed ?? "—"],
    ["Provider / deployment", `${entry.provider ?? "—"} / ${entry.deployment ?? "—"}`],
    ["Key / team / user", `${entry.key_id ?? "—"} / ${entry.team_id ?? "—"} / ${entry.user_id ?? "—"}`],
    ["Tokens (prompt + completion)", `${entry.prompt_tokens} + ${entry.completion_tokens}`],
    ["Cost", formatUsd(entry.cost_usd)],
    ["Latency / first token", `${formatMs(entry.latency_ms)} / ${formatMs(entry.ttft_ms)}`],
    ["Cache", entry.cache_hit ? "hit" : "miss"],
    ["Attempts / fallback", `${entry.attempts} / ${entry.fallback_used ? "yes" : "no"}`],
    [
      "Route decision",
      entry.router
        ? `${entry.routed_from} → ${entry.model_routed} by ${entry.router} (score ${entry.router_score?.toFixed(3)}, threshold ${entry.router_threshold?.toFixed(3)})`
        : "direct",
    ],
    ["Error", entry.error_type ? `${entry.error_type}: ${entry.error_message ?? ""}` : "—"],
    ["Trace id", <span key="t" className="font-mono">{entry.trace_id ?? "—"}</span>],
    ["Parent request", entry.parent_request_id ?? "—"],
    ["Tags", entry.tags.length ? entry.tags.join(", ") : "—"],
  ];
  const bars = waterfall(entry.stage_timings);
  return (
    <div className="flex flex-col gap-4 text-sm">
      <dl className="grid grid-cols-[max-content_1fr] gap-x-3 gap-y-1">
        {facts.map(([label, value]) => (
          <div key={label} className="contents">
            <dt className="text-slate-600">{label}</dt>
            <dd className="break-all">{value}</dd>
          </div>
        ))}
      </dl>
      <section aria-label="Stage timings">
        <h3 className="mb-2 font-medium">Stages</h3>
        {bars.length ? (
          <ol className="flex flex-col gap-1">
            {bars.map((bar) => (
              <li key={bar.stage} className="grid grid-cols-[90px_1fr_70px] items-center gap-2">
                <span>{bar.stage}</span>
                <span className="relative h-3 rounded bg-slate-100">
                  <span
                    className="absolute h-3 rounded bg-sky-700"
                    style={{ left: `${bar.offsetPct}%`, width: `${Math.max(bar.widthPct, 0.5)}%` }}
                  />
                </span>
                <span className="text-right">{formatMs(bar.ms)}</span>
              </li>
            ))}
          </ol>
        ) : (
          <p className="text-slate-600">No stage timings were recorded.</p>
        )}
      </section>
    </div>
  );
}
