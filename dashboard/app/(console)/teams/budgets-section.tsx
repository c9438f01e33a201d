"use client";
import { useState, type FormEvent } from "react";

import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Card, CardTitle } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Field } from "@/components/ui/label";
import { Table, Td, Th } from "@/components/ui/table";
import { useBudgets, useCreateBudget, useDeleteBudget } from "@/lib/api/budgets";
import { formatUsd } from "@/lib/format";

export function BudgetsSection({ writable }: { writable: boolean }) {
  const budgets = useBudgets();
  const create = useCreateBudget();
  const remove = useDeleteBudget();
  const [name, setName] = useState("");
  const [monthly, setMonthly] = useState("");
  const [daily, setDaily] = useState("");
  const failure = create.error ?? remove.error ?? budgets.error;

  function submit(event: FormEvent) {
    event.preventDefault();
    create.mutate(
      { name, usd_monthly: monthly ? Number(monthly) : null, usd_daily: daily ? Number(daily) : null },
      { onSuccess: () => setName("") },
    );
  }

  return (
    <Card>
      <CardTitle>Budgets</CardTitle>
      {failure ? <Alert tone="error">{failure.message}</Alert> : null}
      {writable ? (
        <form onSubmit={submit} className="mb-4 flex flex-wrap items-end gap-3">
          <Field label="Budget name" htmlFor="budget-name">
            <Input id="budget-name" value={name} onChange={(e) => setName(e.target.value)} required />
          </Field>
          <Field label="USD per month" htmlFor="budget-monthly">
            <Input id="budget-monthly" inputMode="decimal" value={monthly} onChange={(e) => setMonthly(e.target.value)} />
          </Field>
          <Field label="USD per day" htmlFor="budget-daily">
            <Input id="budget-daily" inputMode="decimal" value={daily} onChange={(e) => setDaily(e.target.value)} />
          </Field>
          <Button type="submit" disabled={create.isPending}>
            Create budget
          </Button>
        </form>
      ) : null}
      <Table aria-label="Budgets">
        <thead>
          <tr>
            <Th>Name</Th>
            <Th>Id</Th>
            <Th>Daily</Th>
            <Th>Monthly</Th>
            <Th>Alerts at</Th>
            <Th>Over budget</Th>
            {writable ? <Th>Actions</Th> : null}
          </tr>
        </thead>
        <tbody>
          {budgets.data?.data.map((b) => (
            <tr key={b.id}>
              <Td>{b.name}</Td>
              <Td className="font-mono">{b.id}</Td>
              <Td>{b.usd_daily !== null && b.usd_daily !== undefined ? formatUsd(b.usd_daily) : "—"}</Td>
              <Td>{b.usd_monthly !== null && b.usd_monthly !== undefined ? formatUsd(b.usd_monthly) : "—"}</Td>
              <Td>{b.alert_thresholds.map((t) => `${Math.round(t * 100)} %`).join(", ")}</Td>
              <Td>{b.auto_downgrade_to ? `downgrade to ${b.auto_downgrade_to}` : "refuse"}</Td>
              {writable ? (
                <Td>
                  <Button size="sm" variant="outline" onClick={() => remove.mutate(b.id)}>
                    Delete
                  </Button>
                </Td>
              ) : null}
            </tr>
          ))}
        </tbody>
      </Table>
    </Card>
  );
}
