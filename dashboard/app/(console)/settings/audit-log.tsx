"use client";
import { useMemo, useState, type FormEvent } from "react";

import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Card, CardTitle } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Field } from "@/components/ui/label";
import { Table, Td, Th } from "@/components/ui/table";
import { useAudit, type AuditEntry, type AuditFilters } from "@/lib/api/audit";
import { formatTime } from "@/lib/format";

/** Admin writes, newest first: who did what to which record, from where, before and after. */
export function AuditLog() {
  const [filters, setFilters] = useState<AuditFilters>({});
  const [actor, setActor] = useState("");
  const [target, setTarget] = useState("");
  const audit = useAudit(filters);
  const rows = useMemo(() => audit.data?.pages.flatMap((page) => page.data) ?? [], [audit.data]);

  function submit(event: FormEvent) {
    event.preventDefault();
    setFilters({ actor: actor.trim() || undefined, target: target.trim() || undefined });
  }

  return (
    <Card>
      <CardTitle>Audit log</CardTitle>
      <form onSubmit={submit} className="mb-3 flex flex-wrap items-end gap-3">
        <Field label="Actor" htmlFor="audit-actor">
          <Input id="audit-actor" value={actor} onChange={(e) => setActor(e.target.value)} placeholder="master or tok_…" />
        </Field>
        <Field label="Target" htmlFor="audit-target">
          <Input id="audit-target" value={target} onChange={(e) => setTarget(e.target.value)} placeholder="virtual_keys" />
        </Field>
        <Button type="submit" variant="outline">
          Filter audit log
        </Button>
      </form>
      {audit.error ? <Alert tone="error">{audit.error.message}</Alert> : null}
      <Table aria-label="Audit log">
        <thead>
          <tr>
            <Th>When</Th>
            <Th>Actor</Th>
            <Th>Role</Th>
            <Th>Action</Th>
            <Th>Target</Th>
            <Th>Client</Th>
            <Th>Change</Th>
          </tr>
        </thead>
        <tbody>
          {rows.map((entry) => (
            <tr key={entry.id} data-audit-id={entry.id}>
              <Td>{formatTime(entry.at)}</Td>
              <Td className="font-mono">{entry.actor}</Td>
              <Td>{entry.role}</Td>
              <Td className="font-mono">{entry.action}</Td>
              <Td className="font-mono">{entry.target}</Td>
              <Td>{entry.client ?? "—"}</Td>
              <Td>
                <Change entry={entry} />
              </Td>
            </tr>
          ))}
        </tbody>
      </Table>
      {audit.hasNextPage ? (
        <Button
          size="sm"
          variant="outline"
          className="mt-2"
          onClick={() => void audit.fetchNextPage()}
          disabled={audit.isFetchingNextPage}
        >
          Older entries
        </Button>
      ) : null}
    </Card>
  );
}

function Change({ entry }: { entry: AuditEntry }) {
  return (
    <details>
      <summary className="cursor-pointer text-sky-800">before / after</summary>
      <pre className="max-w-xl overflow-x-auto whitespace-pre-wrap text-xs">
        {JSON.stringify({ before: entry.before, after: entry.after }, null, 2)}
      </pre>
    </details>
  );
}
