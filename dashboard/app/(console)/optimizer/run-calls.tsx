"use client";
import { useMemo } from "react";

import { Alert } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Card, CardTitle, Stat } from "@/components/ui/card";
import { Table, Td, Th } from "@/components/ui/table";
import { useLogDetail, useLogs } from "@/lib/api/logs";
import { formatInt, formatMs, formatTime, formatUsd } from "@/lib/format";

/** One run: its parent's record (the rolled-up totals) and every sub-call it made. */
export function RunCalls({ parent }: { parent: string }) {
  const record = useLogDetail(parent);
  const calls = useLogs({ parent_request_id: parent, order: "asc" });
  const rows = useMemo(() => calls.data?.pages.flatMap((page) => page.data) ?? [], [calls.data]);
  const p = record.data;
  return (
    <Card aria-label="Optimizer run">
      <CardTitle>Run {parent}</CardTitle>
      {record.error ? <Alert tone="error">{record.error.message}</Alert> : null}
      {p ? (
        <div className="mb-3 grid grid-cols-2 gap-3 md:grid-cols-4">
          <Stat label="Asked for" value={p.model_requested ?? "—"} />
          <Stat label="Sub-calls" value={formatInt(rows.length)} />
          <Stat label="Tokens, all sub-calls" value={formatInt(p.prompt_tokens + p.completion_tokens)} />
          <Stat label="Cost, all sub-calls" value={formatUsd(p.cost_usd)} />
        </div>
      ) : null}
      <Table aria-label="Sub-calls">
        <thead>
          <tr>
            <Th>Started</Th>
            <Th>Request</Th>
            <Th>Model</Th>
            <Th>Status</Th>
            <Th>Tokens in / out</Th>
            <Th>Cost</Th>
            <Th>Latency</Th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={row.request_id}>
              <Td>{formatTime(row.started_at)}</Td>
              <Td className="font-mono">{row.request_id}</Td>
              <Td>{row.model_routed ?? row.model_requested ?? "—"}</Td>
              <Td>
                <Badge tone={row.status < 400 ? "good" : "bad"}>{row.status}</Badge>
              </Td>
              <Td>
                {formatInt(row.prompt_tokens)} / {formatInt(row.completion_tokens)}
              </Td>
              <Td>{formatUsd(row.cost_usd)}</Td>
              <Td>{formatMs(row.latency_ms)}</Td>
            </tr>
          ))}
        </tbody>
      </Table>
    </Card>
  );
}
