"use client";
import { useState, type FormEvent } from "react";

import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Card, CardTitle } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Field } from "@/components/ui/label";
import { Select } from "@/components/ui/select";
import { Table, Td, Th } from "@/components/ui/table";
import { useEndExperiment, useExperimentResults, useSetExperiment, type PromptDetail } from "@/lib/api/prompts";
import { formatInt, formatMs, formatUsd } from "@/lib/format";

import { VersionSelect } from "./version-select";

interface Running {
  variants: { version: number; weight: number; name: string }[];
  sticky_by: string;
}

/** The traffic split between versions, starting and ending it, and each variant's outcomes. */
export function ExperimentPanel({ prompt, writable }: { prompt: PromptDetail; writable: boolean }) {
  const running = prompt.experiment as Running | null;
  const results = useExperimentResults(prompt.name, true);
  const end = useEndExperiment();
  return (
    <Card>
      <CardTitle>Experiment</CardTitle>
      {running ? (
        <p className="mb-3 text-sm">
          Running, sticky by {running.sticky_by}:{" "}
          {running.variants.map((v) => `${v.name} (v${v.version}, weight ${v.weight})`).join(" · ")}
        </p>
      ) : (
        <p className="mb-3 text-sm text-slate-700">No experiment is running on this prompt.</p>
      )}
      {writable && running ? (
        <Button variant="destructive" size="sm" className="mb-3" onClick={() => end.mutate(prompt.name)}>
          End experiment
        </Button>
      ) : null}
      {writable ? <ExperimentForm prompt={prompt} /> : null}
      {results.error ? <Alert tone="error">{results.error.message}</Alert> : null}
      <Table aria-label="Experiment results">
        <thead>
          <tr>
            <Th>Variant</Th>
            <Th>Requests</Th>
            <Th>Errors</Th>
            <Th>Mean latency</Th>
            <Th>Tokens</Th>
            <Th>Cost</Th>
            <Th>Feedback</Th>
          </tr>
        </thead>
        <tbody>
          {results.data?.map((row) => (
            <tr key={row.variant} data-variant={row.variant}>
              <Td>{row.variant}</Td>
              <Td>{formatInt(row.requests)}</Td>
              <Td>{formatInt(row.errors)}</Td>
              <Td>{formatMs(row.mean_latency_ms)}</Td>
              <Td>{formatInt(row.tokens)}</Td>
              <Td>{formatUsd(row.cost_usd)}</Td>
              <Td>
                {row.feedback_count
                  ? `${row.feedback_mean?.toFixed(2)} (${row.feedback_count})`
                  : "none"}
              </Td>
            </tr>
          ))}
        </tbody>
      </Table>
    </Card>
  );
}

function ExperimentForm({ prompt }: { prompt: PromptDetail }) {
  const start = useSetExperiment();
  const versions = prompt.versions.map((v) => v.version);
  const [a, setA] = useState(versions.at(-2) ?? versions[0] ?? 1);
  const [b, setB] = useState(versions.at(-1) ?? 1);
  const [share, setShare] = useState("50");
  const [sticky, setSticky] = useState<"user" | "key" | "session">("user");

  function submit(event: FormEvent) {
    event.preventDefault();
    const bShare = Number(share);
    const variants = [
      { version: a, weight: 100 - bShare, name: `v${a}` },
      { version: b, weight: bShare, name: a === b ? `v${b}-b` : `v${b}` },
    ].filter((v) => v.weight > 0);
    start.mutate({ name: prompt.name, body: { variants, sticky_by: sticky } });
  }

  return (
    <form onSubmit={submit} className="mb-4 flex flex-wrap items-end gap-3">
      <VersionSelect prompt={prompt} id="experiment-a" label="Variant A" value={a} onChange={setA} />
      <VersionSelect prompt={prompt} id="experiment-b" label="Variant B" value={b} onChange={setB} />
      <Field label="Share to B (%)" htmlFor="experiment-share">
        <Input
          id="experiment-share"
          type="number"
          min={0}
          max={100}
          value={share}
          onChange={(e) => setShare(e.target.value)}
          className="w-24"
        />
      </Field>
      <Field label="Sticky by" htmlFor="experiment-sticky">
        <Select id="experiment-sticky" value={sticky} onChange={(e) => setSticky(e.target.value as typeof sticky)}>
          <option value="user">user</option>
          <option value="key">key</option>
          <option value="session">session</option>
        </Select>
      </Field>
      <Button type="submit" disabled={start.isPending}>
        Start experiment
      </Button>
      {start.error ? <Alert tone="error">{start.error.message}</Alert> : null}
    </form>
  );
}
