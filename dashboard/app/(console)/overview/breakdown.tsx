"use client";
import { parseAsStringLiteral, useQueryState } from "nuqs";
import { useMemo } from "react";

import { Alert } from "@/components/ui/alert";
import { Card, CardTitle } from "@/components/ui/card";
import { Field } from "@/components/ui/label";
import { Select } from "@/components/ui/select";
import { Table, Td, Th } from "@/components/ui/table";
import { useTimeseries } from "@/lib/api/usage";
import { formatInt, formatPct, formatUsd } from "@/lib/format";
import { breakdown } from "@/lib/timeseries";

const GROUPS = ["team", "key", "model", "provider"] as const;

/** Totals over the range per team, key, model or provider (`?by=`). */
export function Breakdown({ window }: { window: { since: string; until: string } }) {
  const [by, setBy] = useQueryState("by", parseAsStringLiteral(GROUPS).withDefault("model"));
  const series = useTimeseries({ ...window, interval: "1d", group_by: by });
  const groups = useMemo(() => breakdown(series.data?.data ?? []), [series.data]);
  return (
    <Card>
      <div className="mb-3 flex items-end justify-between">
        <CardTitle className="mb-0">Breakdown</CardTitle>
        <Field label="By" htmlFor="breakdown-by">
          <Select id="breakdown-by" value={by} onChange={(e) => void setBy(e.target.value as (typeof GROUPS)[number])}>
            {GROUPS.map((group) => (
              <option key={group} value={group}>
                {group}
              </option>
            ))}
          </Select>
        </Field>
      </div>
      {series.error ? <Alert tone="error">{series.error.message}</Alert> : null}
      <Table aria-label={`Usage by ${by}`}>
        <thead>
          <tr>
            <Th>{by}</Th>
            <Th>Requests</Th>
            <Th>Tokens</Th>
            <Th>Cost</Th>
            <Th>Error rate</Th>
          </tr>
        </thead>
        <tbody>
          {groups.map((group) => (
            <tr key={group.group}>
              <Td className="font-mono">{group.group}</Td>
              <Td>{formatInt(group.requests)}</Td>
              <Td>{formatInt(group.tokens)}</Td>
              <Td>{formatUsd(group.cost_usd)}</Td>
              <Td>{formatPct(group.error_rate)}</Td>
            </tr>
          ))}
        </tbody>
      </Table>
    </Card>
  );
}
