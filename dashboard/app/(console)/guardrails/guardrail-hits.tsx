"use client";
import { Alert } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Card, CardTitle } from "@/components/ui/card";
import { Table, Td, Th } from "@/components/ui/table";
import { formatInt, formatTime } from "@/lib/format";

import { RecentLogsControls, useRecentLogs } from "../logs/recent-logs";

interface Hit {
  stage?: string;
  check?: string;
  entity?: string | null;
  action?: string;
  count?: number;
}

/** The checks that fired, read from the request log's pages (newest first, older on demand). */
export function GuardrailHits() {
  const { logs, rows } = useRecentLogs();
  const hits = rows.flatMap((row) =>
    (row.guardrails as Hit[]).map((hit, index) => ({ row, hit, key: `${row.request_id}-${index}` })),
  );
  return (
    <Card>
      <CardTitle>Hits</CardTitle>
      <p className="mb-2 text-sm text-slate-700">
        Among the {formatInt(rows.length)} most recent requests: {formatInt(hits.length)} hits.
      </p>
      {logs.error ? <Alert tone="error">{logs.error.message}</Alert> : null}
      <Table aria-label="Guardrail hits">
        <thead>
          <tr>
            <Th>When</Th>
            <Th>Request</Th>
            <Th>Stage</Th>
            <Th>Check</Th>
            <Th>Entity</Th>
            <Th>Action</Th>
            <Th>Count</Th>
            <Th>Status</Th>
          </tr>
        </thead>
        <tbody>
          {hits.map(({ row, hit, key }) => (
            <tr key={key} data-request-id={row.request_id}>
              <Td>{formatTime(row.started_at)}</Td>
              <Td className="font-mono">{row.request_id}</Td>
              <Td>{hit.stage ?? "—"}</Td>
              <Td>{hit.check ?? "—"}</Td>
              <Td>{hit.entity ?? "—"}</Td>
              <Td>
                <Badge tone={hit.action === "block" ? "bad" : "warn"}>{hit.action ?? "—"}</Badge>
              </Td>
              <Td>{formatInt(hit.count ?? 1)}</Td>
              <Td>{row.status}</Td>
            </tr>
          ))}
        </tbody>
      </Table>
      <RecentLogsControls logs={logs} what="hits" />
    </Card>
  );
}
