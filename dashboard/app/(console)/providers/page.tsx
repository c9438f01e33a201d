"use client";
import { Alert } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Card } from "@/components/ui/card";
import { Table, Td, Th } from "@/components/ui/table";
import { useProviders, type QueueDepth } from "@/lib/api/providers";
import { formatInt, formatMs, formatPct } from "@/lib/format";

const CIRCUIT_TONE = { closed: "good", half_open: "warn", open: "bad" } as const;

export default function ProvidersPage() {
  const providers = useProviders();
  return (
    <div className="flex flex-col gap-4">
      <h1 className="text-2xl font-semibold">Providers</h1>
      <p className="text-sm text-slate-600">Each deployment as this gateway replica sees it; refreshed every 5 seconds.</p>
      {providers.error ? <Alert tone="error">{providers.error.message}</Alert> : null}
      <Card>
        <Table aria-label="Deployment health">
          <thead>
            <tr>
              <Th>Deployment</Th>
              <Th>Provider / model</Th>
              <Th>Serves</Th>
              <Th>Circuit</Th>
              <Th>Errors 1m / 5m</Th>
              <Th>p50 / p99</Th>
              <Th>In flight</Th>
              <Th>Last minute</Th>
              <Th>Last failure</Th>
            </tr>
          </thead>
          <tbody>
            {providers.data?.data.map((d) => (
              <tr key={d.deployment}>
                <Td className="font-mono">{d.deployment}</Td>
                <Td>
                  {d.provider} / {d.model}
                </Td>
                <Td>{d.serves.join(", ")}</Td>
                <Td>
                  <Badge tone={CIRCUIT_TONE[d.circuit_state as keyof typeof CIRCUIT_TONE] ?? "neutral"}>
                    {d.circuit_state}
                    {d.cooling_down_s > 0 ? ` (${d.cooling_down_s.toFixed(0)} s)` : ""}
                  </Badge>
                </Td>
                <Td>
                  {formatPct(d.error_rate_1m)} / {formatPct(d.error_rate_5m)}
                </Td>
                <Td>
                  {formatMs(d.latency_p50_ms)} / {formatMs(d.latency_p99_ms)}
                </Td>
                <Td>{d.in_flight}</Td>
                <Td>
                  {formatInt(d.requests_last_minute)} req, {formatInt(d.tokens_last_minute)} tok
                </Td>
                <Td>{d.last_failure ?? "—"}</Td>
              </tr>
            ))}
          </tbody>
        </Table>
      </Card>
      <WaitingCard queues={providers.data?.queues} />
    </div>
  );
}

/** Requests waiting for a saturated group, per priority class (routing policies). */
function WaitingCard({ queues }: { queues: Record<string, QueueDepth> | undefined }) {
  const groups = Object.entries(queues ?? {});
  return (
    <Card>
      <h2 className="mb-2 text-lg font-semibold">Waiting for capacity</h2>
      {groups.length === 0 ? (
        <p className="text-sm text-slate-600">No request is waiting for a saturated model now.</p>
      ) : (
        <Table aria-label="Requests waiting per priority class">
          <thead>
            <tr>
              <Th>Model</Th>
              <Th>High</Th>
              <Th>Normal</Th>
              <Th>Low</Th>
            </tr>
          </thead>
          <tbody>
            {groups.map(([group, depth]) => (
              <tr key={group}>
                <Td className="font-mono">{group}</Td>
                <Td>{formatInt(depth.high)}</Td>
                <Td>{formatInt(depth.normal)}</Td>
                <Td>{formatInt(depth.low)}</Td>
              </tr>
            ))}
          </tbody>
        </Table>
      )}
    </Card>
  );
}
