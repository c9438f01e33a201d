"use client";
import { useState, type FormEvent } from "react";

import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Card, CardTitle } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Field } from "@/components/ui/label";
import { Select } from "@/components/ui/select";
import { useBudgets } from "@/lib/api/budgets";
import { useCreateKey, type IssuedKey, type NewKey } from "@/lib/api/keys";
import { useTeams } from "@/lib/api/teams";

import { keyFields, type KeyDraft } from "./key-fields";

const EMPTY: KeyDraft = { name: "", team_id: "", budget_id: "", allowed_models: "", max_tokens_cap: "", rpm: "", tpm: "" };

export function CreateKeyForm({ onIssued }: { onIssued: (key: IssuedKey) => void }) {
  const [draft, setDraft] = useState<KeyDraft>(EMPTY);
  const create = useCreateKey();
  const teams = useTeams();
  const budgets = useBudgets();
  const set = (field: keyof KeyDraft) => (event: { target: { value: string } }) =>
    setDraft({ ...draft, [field]: event.target.value });

  function submit(event: FormEvent) {
    event.preventDefault();
    const body: NewKey = keyFields(draft);
    create.mutate(body, {
      onSuccess: (issued) => {
        setDraft(EMPTY);
        onIssued(issued);
      },
    });
  }

  return (
    <Card>
      <CardTitle>Create a key</CardTitle>
      <form onSubmit={submit} className="grid grid-cols-1 gap-3 md:grid-cols-4">
        <Field label="Name" htmlFor="key-name">
          <Input id="key-name" value={draft.name} onChange={set("name")} maxLength={200} />
        </Field>
        <Field label="Team" htmlFor="key-team">
          <Select id="key-team" value={draft.team_id} onChange={set("team_id")}>
            <option value="">No team</option>
            {teams.data?.data.map((team) => (
              <option key={team.id} value={team.id}>
                {team.name}
              </option>
            ))}
          </Select>
        </Field>
        <Field label="Budget" htmlFor="key-budget">
          <Select id="key-budget" value={draft.budget_id} onChange={set("budget_id")}>
            <option value="">No budget of its own</option>
            {budgets.data?.data.map((budget) => (
              <option key={budget.id} value={budget.id}>
                {budget.name}
              </option>
            ))}
          </Select>
        </Field>
        <Field label="Allowed models (comma-separated, empty: all)" htmlFor="key-models">
          <Input id="key-models" value={draft.allowed_models} onChange={set("allowed_models")} />
        </Field>
        <Field label="max_tokens cap" htmlFor="key-cap">
          <Input id="key-cap" inputMode="numeric" value={draft.max_tokens_cap} onChange={set("max_tokens_cap")} />
        </Field>
        <Field label="Requests per minute" htmlFor="key-rpm">
          <Input id="key-rpm" inputMode="numeric" value={draft.rpm} onChange={set("rpm")} />
        </Field>
        <Field label="Tokens per minute" htmlFor="key-tpm">
          <Input id="key-tpm" inputMode="numeric" value={draft.tpm} onChange={set("tpm")} />
        </Field>
        <div className="flex items-end">
          <Button type="submit" disabled={create.isPending}>
            Create key
          </Button>
        </div>
      </form>
      {create.error ? (
        <Alert tone="error" className="mt-3">
          {create.error.message}
        </Alert>
      ) : null}
    </Card>
  );
}
