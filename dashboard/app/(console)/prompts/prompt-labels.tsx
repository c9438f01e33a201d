"use client";
import { useState, type FormEvent } from "react";

import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Card, CardTitle } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Field } from "@/components/ui/label";
import { Table, Td, Th } from "@/components/ui/table";
import { useMoveLabel, type PromptDetail } from "@/lib/api/prompts";
import { formatTime } from "@/lib/format";

import { VersionSelect } from "./version-select";

/** Where each label points, moving one, and the history of moves. */
export function PromptLabels({ prompt, writable }: { prompt: PromptDetail; writable: boolean }) {
  const move = useMoveLabel();
  const [label, setLabel] = useState("production");
  const [version, setVersion] = useState(prompt.latest_version);

  function submit(event: FormEvent) {
    event.preventDefault();
    move.mutate({ name: prompt.name, label, version });
  }

  return (
    <Card>
      <CardTitle>Labels</CardTitle>
      {writable ? (
        <form onSubmit={submit} className="mb-4 flex flex-wrap items-end gap-3">
          <Field label="Label" htmlFor="label-name">
            <Input id="label-name" value={label} onChange={(e) => setLabel(e.target.value)} required maxLength={36} />
          </Field>
          <VersionSelect prompt={prompt} id="label-version" label="Points at" value={version} onChange={setVersion} />
          <Button type="submit" disabled={move.isPending}>
            Move label
          </Button>
        </form>
      ) : null}
      {move.error ? <Alert tone="error">{move.error.message}</Alert> : null}
      <Table aria-label="Label history">
        <thead>
          <tr>
            <Th>Label</Th>
            <Th>From</Th>
            <Th>To</Th>
            <Th>By</Th>
            <Th>When</Th>
          </tr>
        </thead>
        <tbody>
          {[...prompt.label_history].reverse().map((row, index) => (
            <tr key={index}>
              <Td>{row.label}</Td>
              <Td>{row.from_version === null ? "—" : `v${row.from_version}`}</Td>
              <Td>v{row.to_version}</Td>
              <Td>{row.author ?? "—"}</Td>
              <Td>{formatTime(row.moved_at)}</Td>
            </tr>
          ))}
        </tbody>
      </Table>
    </Card>
  );
}
