"use client";
import { Bar, BarChart, CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";

import { Card, CardTitle } from "@/components/ui/card";
import type { Granularity, Row } from "@/lib/timeseries";

const HEIGHT = 220;

function Chart({ title, children }: { title: string; children: React.ReactElement }) {
  return (
    <Card>
      <CardTitle>{title}</CardTitle>
      <div style={{ height: HEIGHT }} role="img" aria-label={title}>
        <ResponsiveContainer width="100%" height="100%">
          {children}
        </ResponsiveContainer>
      </div>
    </Card>
  );
}

export function UsageCharts({ rows, granularity }: { rows: Row[]; granularity: Granularity }) {
  const latency = granularity === "day" ? "Latency (worst hour of each day), ms" : "Latency, ms";
  return (
    <div className="grid grid-cols-1 gap-4 xl:grid-cols-2">
      <Chart title="Requests and errors">
        <BarChart data={rows}>
          <CartesianGrid strokeDasharray="3 3" />
          <XAxis dataKey="label" tick={{ fontSize: 11 }} />
          <YAxis allowDecimals={false} tick={{ fontSize: 11 }} />
          <Tooltip />
          <Legend />
          <Bar dataKey="requests" name="requests" fill="#0369a1" />
          <Bar dataKey="errors" name="errors" fill="#b91c1c" />
        </BarChart>
      </Chart>
      <Chart title="Cost, USD">
        <LineChart data={rows}>
          <CartesianGrid strokeDasharray="3 3" />
          <XAxis dataKey="label" tick={{ fontSize: 11 }} />
          <YAxis tick={{ fontSize: 11 }} />
          <Tooltip />
          <Legend />
          <Line dataKey="cost_usd" name="cost" stroke="#0f766e" dot={false} />
          <Line dataKey="cache_saved_usd" name="cache saved" stroke="#7c3aed" dot={false} />
          <Line dataKey="routing_saved_usd" name="routing saved" stroke="#b45309" dot={false} />
        </LineChart>
      </Chart>
      <Chart title="Tokens">
        <BarChart data={rows}>
          <CartesianGrid strokeDasharray="3 3" />
          <XAxis dataKey="label" tick={{ fontSize: 11 }} />
          <YAxis tick={{ fontSize: 11 }} />
          <Tooltip />
          <Legend />
          <Bar dataKey="prompt_tokens" name="prompt" stackId="t" fill="#1d4ed8" />
          <Bar dataKey="completion_tokens" name="completion" stackId="t" fill="#15803d" />
        </BarChart>
      </Chart>
      <Chart title={latency}>
        <LineChart data={rows}>
          <CartesianGrid strokeDasharray="3 3" />
          <XAxis dataKey="label" tick={{ fontSize: 11 }} />
          <YAxis tick={{ fontSize: 11 }} />
          <Tooltip />
          <Legend />
          <Line dataKey="p50_ms" name="p50" stroke="#0369a1" dot={false} />
          <Line dataKey="p95_ms" name="p95" stroke="#b45309" dot={false} />
          <Line dataKey="p99_ms" name="p99" stroke="#b91c1c" dot={false} />
        </LineChart>
      </Chart>
    </div>
  );
}
