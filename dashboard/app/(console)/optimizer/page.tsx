"use client";
import { parseAsString, useQueryState } from "nuqs";
import { useMemo } from "react";

import { Alert } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardTitle, Stat } from "@/components/ui/card";
import { Table, Td, Th } from "@/components/ui/table";
import { useOptimizer } from "@/lib/api/optimizer";
import { formatInt, formatTime, formatUsd } from "@/lib/format";

import { RecentLogsControls, useRecentLogs } from "../logs/recent-logs";

import { RunCalls } from "./run-calls";
import { runsOf } from "./runs";

export default function OptimizerPage() {
  const [selected, setSelected] = useQueryState("run", parseAsString);
  return (
    <div className="flex flex-col gap-4">
      <h1 className="text-2xl font-semibold">Optimizer</h1>
      <Approaches />
      <Runs onOpen={(id) => void setSelected(id)} />
      {selected ? <RunCalls parent={selected} /> : null}
    </div>
  );
}

function Approaches() {
  const settings = useOptimizer();
  const s = settings.data;
  const list = (names: string[], tone: "good" | "neutral" | "bad") => (
    <span className="flex flex-wrap gap-1">
      {names.map((name) => (
        <Badge key={name} tone={tone}>
          {name}
        </Badge>
      ))}
    </span>
  );
  return (
    <Card>
      <CardTitle>Approaches</CardTitle>
      {settings.error ? <Alert tone="error">{settings.error.message}</Alert> : null}
      {s ? (
        <div className="flex flex-col gap-3 text-sm">
          <p>{s.enabled ? "An optimizer service is configured." : "No optimizer service: a request naming an approach gets a plain call."}</p>
          <div aria-label="Default-on approaches">
            <p className="font-medium">Default on (any key, unless it lists others)</p>
            {list(s.default_on, "good")}
          </div>
          <div aria-label="Opt-in approaches">
            <p className="font-medium">Opt in (only keys or teams that list them)</p>
            {list(s.opt_in, "neutral")}
          </div>
          <div aria-label="Never allowed approaches">
            <p className="font-medium">Never (they run model-written code or fetch URLs)</p>
            {list(s.never, "bad")}
          </div>
          <div className="grid grid-cols-2 gap-3 md:grid-cols-4">
            <Stat label="Sub-calls per request, at most" value={formatInt(s.max_calls)} />
            <Stat label="Tokens per request, at most" value={formatInt(s.max_total_tokens)} />
            <Stat label="Deadline" value={`${formatInt(s.deadline_ms)} ms`} />
            <Stat label="Longest deadline asked" value={`${formatInt(s.max_deadline_ms)} ms`} />
          </div>
        </div>
      ) : null}
    </Card>
  );
}

function Runs({ onOpen }: { onOpen: (parent: string) => void }) {
  const { logs, rows } = useRecentLogs();
  const runs = useMemo(() => runsOf(rows), [rows]);
  return (
    <Card>
      <CardTitle>Recent runs</CardTitle>
      <p className="mb-2 text-sm text-slate-700">
        Runs whose sub-calls are among the {formatInt(rows.length)} most recent requests: fan-out and what it cost.
      </p>
      {logs.error ? <Alert tone="error">{logs.error.message}</Alert> : null}
      <Table aria-label="Optimizer runs">
        <thead>
          <tr>
            <Th>Parent request</Th>
            <Th>Sub-calls</Th>
            <Th>Models</Th>
            <Th>Tokens</Th>
            <Th>Cost</Th>
            <Th>Last sub-call</Th>
            <Th>Open</Th>
          </tr>
        </thead>
        <tbody>
          {runs.map((run) => (
            <tr key={run.parent} data-parent={run.parent}>
              <Td className="font-mono">{run.parent}</Td>
              <Td>{formatInt(run.calls)}</Td>
              <Td>{run.models.join(", ")}</Td>
              <Td>{formatInt(run.tokens)}</Td>
              <Td>{formatUsd(run.costUsd)}</Td>
              <Td>{formatTime(run.lastAt)}</Td>
              <Td>
                <Button size="sm" variant="outline" onClick={() => onOpen(run.parent)}>
                  Sub-calls of {run.parent}
                </Button>
              </Td>
            </tr>
          ))}
        </tbody>
      </Table>
      <RecentLogsControls logs={logs} what="runs" />
    </Card>
  );
}
