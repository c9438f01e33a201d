"use client";
import { parseAsString, useQueryState } from "nuqs";

import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Card, CardTitle } from "@/components/ui/card";
import { Table, Td, Th } from "@/components/ui/table";
import { useAgentSessions } from "@/lib/api/sessions";
import { formatInt, formatTime, formatUsd } from "@/lib/format";

import { SessionSteps } from "./session-steps";

/** Agent runs (requests sharing an x-session-id), and one run step by step. */
export default function SessionsPage() {
  const sessions = useAgentSessions();
  const [selected, setSelected] = useQueryState("session", parseAsString);
  return (
    <div className="flex flex-col gap-4">
      <h1 className="text-2xl font-semibold">Sessions</h1>
      {sessions.error ? <Alert tone="error">{sessions.error.message}</Alert> : null}
      <Card>
        <CardTitle>Recent sessions</CardTitle>
        <Table aria-label="Agent sessions">
          <thead>
            <tr>
              <Th>Session</Th>
              <Th>Steps</Th>
              <Th>Models</Th>
              <Th>Tokens</Th>
              <Th>Cost</Th>
              <Th>Started</Th>
              <Th>Last step</Th>
              <Th>Open</Th>
            </tr>
          </thead>
          <tbody>
            {sessions.data?.data.map((run) => (
              <tr key={run.id} data-session-id={run.id} aria-selected={run.id === selected}>
                <Td className="font-mono">{run.id}</Td>
                <Td>{run.steps}</Td>
                <Td>{run.models.join(", ") || "—"}</Td>
                <Td>{formatInt(run.prompt_tokens + run.completion_tokens)}</Td>
                <Td>{formatUsd(run.cost_usd)}</Td>
                <Td>{formatTime(run.started_at)}</Td>
                <Td>{formatTime(run.last_at)}</Td>
                <Td>
                  <Button size="sm" variant="outline" onClick={() => void setSelected(run.id)}>
                    Steps of {run.id}
                  </Button>
                </Td>
              </tr>
            ))}
          </tbody>
        </Table>
        {sessions.data?.data.length === 0 ? (
          <p className="mt-2 text-sm text-slate-700">
            No sessions yet: requests join one when they carry an x-session-id header.
          </p>
        ) : null}
      </Card>
      {selected ? <SessionSteps id={selected} /> : null}
    </div>
  );
}
