"use client";
import { useState, type FormEvent } from "react";

import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Card, CardTitle } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Field } from "@/components/ui/label";
import { Select } from "@/components/ui/select";
import { usePutPolicy } from "@/lib/api/guardrails";

import { CHECK_KINDS, policyOf, type CheckKind, type PolicyDraft } from "./policy-draft";

const EMPTY: PolicyDraft = { name: "", kind: "deny_list", action: "block", words: "", onRequest: true, onResponse: false };

/** Set a policy: a new name adds it at the end, an existing one is replaced in place. */
export function PolicyForm() {
  const put = usePutPolicy();
  const [draft, setDraft] = useState<PolicyDraft>(EMPTY);
  const set = (patch: Partial<PolicyDraft>) => setDraft({ ...draft, ...patch });

  function submit(event: FormEvent) {
    event.preventDefault();
    put.mutate(policyOf(draft), { onSuccess: () => setDraft(EMPTY) });
  }

  return (
    <Card>
      <CardTitle>Set a policy</CardTitle>
      <form onSubmit={submit} className="flex flex-wrap items-end gap-3">
        <Field label="Policy name" htmlFor="policy-name">
          <Input id="policy-name" value={draft.name} onChange={(e) => set({ name: e.target.value })} required maxLength={100} />
        </Field>
        <Field label="Check" htmlFor="policy-check">
          <Select id="policy-check" value={draft.kind} onChange={(e) => set({ kind: e.target.value as CheckKind })}>
            {CHECK_KINDS.map((kind) => (
              <option key={kind}>{kind}</option>
            ))}
          </Select>
        </Field>
        <Field label="Action" htmlFor="policy-action">
          <Select
            id="policy-action"
            value={draft.action}
            onChange={(e) => set({ action: e.target.value as PolicyDraft["action"] })}
          >
            <option value="block">block</option>
            <option value="redact">redact</option>
            <option value="alert">alert</option>
          </Select>
        </Field>
        {draft.kind === "deny_list" ? (
          <Field label="Words (comma-separated)" htmlFor="policy-words">
            <Input id="policy-words" value={draft.words} onChange={(e) => set({ words: e.target.value })} required />
          </Field>
        ) : null}
        <fieldset className="flex gap-3 text-sm">
          <legend className="text-sm font-medium text-slate-800">Runs on</legend>
          <label className="flex items-center gap-1">
            <input type="checkbox" checked={draft.onRequest} onChange={(e) => set({ onRequest: e.target.checked })} />
            requests
          </label>
          <label className="flex items-center gap-1">
            <input type="checkbox" checked={draft.onResponse} onChange={(e) => set({ onResponse: e.target.checked })} />
            responses
          </label>
        </fieldset>
        <Button type="submit" disabled={put.isPending}>
          Save policy
        </Button>
      </form>
      {put.error ? (
        <Alert tone="error" className="mt-3">
          {put.error.message}
        </Alert>
      ) : null}
    </Card>
  );
}
