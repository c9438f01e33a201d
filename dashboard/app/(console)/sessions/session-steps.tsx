"use client";
import { Alert } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Card, CardTitle, Stat } from "@/components/ui/card";
import { Table, Td, Th } from "@/components/ui/table";
import { useAgentSession } from "@/lib/api/sessions";
import { formatInt, formatMs, formatTime, formatUsd } from "@/lib/format";

/** One run's steps in the order they started: what was asked, what answered, what it cost. */
export function SessionSteps({ id }: { id: string }) {
  const run = useAgentSession(id);
  const data = run.data;
  return (
    <Card aria-label="Session steps">
      <CardTitle>Session {id}</CardTitle>
      {run.error ? <Alert tone="error">{run.error.message}</Alert> : null}
      {data ? (
        <>
          <div className="mb-3 grid grid-cols-2 gap-3 md:grid-cols-4">
            <Stat label="Steps" value={formatInt(data.totals.steps)} />
            <Stat label="Tokens" value={formatInt(data.totals.prompt_tokens + data.totals.completion_tokens)} />
            <Stat label="Cost" value={formatUsd(data.totals.cost_usd)} />
            <Stat label="Time in calls" value={formatMs(data.totals.latency_ms)} />
          </div>
          <Table aria-label="Steps">
            <thead>
              <tr>
                <Th>Step</Th>
                <Th>Started</Th>
                <Th>Asked for</Th>
                <Th>Answered by</Th>
                <Th>Status</Th>
                <Th>Tokens in / out</Th>
                <Th>Cost</Th>
                <Th>Latency</Th>
                <Th>Tools called</Th>
              </tr>
            </thead>
            <tbody>
              {data.steps.map((step) => (
                <tr key={step.request_id} data-request-id={step.request_id}>
                  <Td>{step.step}</Td>
                  <Td>{formatTime(step.started_at)}</Td>
                  <Td>{step.model_requested ?? "—"}</Td>
                  <Td>
                    {step.model_routed ?? "—"}
                    {step.router_score !== null ? ` (score ${step.router_score.toFixed(2)})` : ""}
                  </Td>
                  <Td>
                    <Badge tone={step.status < 400 ? "good" : "bad"}>{step.status}</Badge>
                  </Td>
                  <Td>
                    {formatInt(step.prompt_tokens)} / {formatInt(step.completion_tokens)}
                  </Td>
                  <Td>{formatUsd(step.cost_usd)}</Td>
                  <Td>{formatMs(step.latency_ms)}</Td>
                  <Td>{step.tool_calls.join(", ") || "—"}</Td>
                </tr>
              ))}
            </tbody>
          </Table>
        </>
      ) : null}
    </Card>
  );
}
