"use client";
import { useState, type FormEvent } from "react";

import { Alert } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardTitle } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Field } from "@/components/ui/label";
import { Select } from "@/components/ui/select";
import { Table, Td, Th } from "@/components/ui/table";
import { useBudgets } from "@/lib/api/budgets";
import { useCreateTeam, useDeleteTeam, useTeams } from "@/lib/api/teams";
import { formatPct, formatUsd } from "@/lib/format";

import { budgetState } from "./budget-state";
import { useTeamSpend } from "./team-spend";

const TONE = { ok: "good", warning: "warn", exceeded: "bad", none: "neutral" } as const;

export function TeamsSection({ writable }: { writable: boolean }) {
  const teams = useTeams();
  const budgets = useBudgets();
  const spend = useTeamSpend();
  const create = useCreateTeam();
  const remove = useDeleteTeam();
  const [name, setName] = useState("");
  const [budgetId, setBudgetId] = useState("");
  const byId = new Map((budgets.data?.data ?? []).map((b) => [b.id, b]));
  const failure = create.error ?? remove.error ?? teams.error;

  function submit(event: FormEvent) {
    event.preventDefault();
    create.mutate({ name, budget_id: budgetId || null }, { onSuccess: () => setName("") });
  }

  return (
    <Card>
      <CardTitle>Teams</CardTitle>
      {failure ? <Alert tone="error">{failure.message}</Alert> : null}
      {writable ? (
        <form onSubmit={submit} className="mb-4 flex flex-wrap items-end gap-3">
          <Field label="Team name" htmlFor="team-name">
            <Input id="team-name" value={name} onChange={(e) => setName(e.target.value)} required maxLength={200} />
          </Field>
          <Field label="Budget" htmlFor="team-budget">
            <Select id="team-budget" value={budgetId} onChange={(e) => setBudgetId(e.target.value)}>
              <option value="">No budget</option>
              {budgets.data?.data.map((b) => (
                <option key={b.id} value={b.id}>
                  {b.name}
                </option>
              ))}
            </Select>
          </Field>
          <Button type="submit" disabled={create.isPending}>
            Create team
          </Button>
        </form>
      ) : null}
      <Table aria-label="Teams">
        <thead>
          <tr>
            <Th>Name</Th>
            <Th>Id</Th>
            <Th>Budget</Th>
            <Th>Spent today / this month</Th>
            <Th>Budget alert</Th>
            <Th>Status</Th>
            {writable ? <Th>Actions</Th> : null}
          </tr>
        </thead>
        <tbody>
          {teams.data?.data.map((team) => {
            const spent = spend.get(team.id) ?? { today: 0, month: 0 };
            const budget = team.budget_id ? byId.get(team.budget_id) : undefined;
            const alert = budgetState(budget, spent.today, spent.month);
            return (
              <tr key={team.id}>
                <Td>{team.name}</Td>
                <Td className="font-mono">{team.id}</Td>
                <Td>{budget?.name ?? "—"}</Td>
                <Td>
                  {formatUsd(spent.today)} / {formatUsd(spent.month)}
                </Td>
                <Td>
                  <Badge tone={TONE[alert.state]}>
                    {alert.state}
                    {alert.share !== null ? ` (${formatPct(alert.share)})` : ""}
                  </Badge>
                </Td>
                <Td>{team.status}</Td>
                {writable ? (
                  <Td>
                    <Button size="sm" variant="outline" onClick={() => remove.mutate(team.id)}>
                      Delete
                    </Button>
                  </Td>
                ) : null}
              </tr>
            );
          })}
        </tbody>
      </Table>
    </Card>
  );
}
