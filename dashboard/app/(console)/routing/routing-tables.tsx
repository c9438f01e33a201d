"use client";
import { useState, type FormEvent } from "react";

import { Button } from "@/components/ui/button";
import { Card, CardTitle } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Field } from "@/components/ui/label";
import { Select } from "@/components/ui/select";
import { Table, Td, Th } from "@/components/ui/table";
import type { ConfigDocument } from "@/lib/api/config";

import { editKey, withEdit, type Edit, type Edits, type Section } from "./draft";
import { STRATEGIES } from "./strategies";

interface Props {
  draft: ConfigDocument;
  edits: Edits;
  writable: boolean;
  onEdit: (edits: Edits) => void;
}

/** The routing sections people change most: strategies, fallback chains, auto groups. */
export function RoutingTables({ draft, edits, writable, onEdit }: Props) {
  const routing = draft.routing ?? {};
  const text = (section: Section, name: string, field: string, value: string) =>
    edits[editKey(section, name, field)]?.text ?? value;
  const set = (edit: Edit) => onEdit(withEdit(edits, edit));

  return (
    <Card className="flex flex-col gap-6">
      <CardTitle>Routing</CardTitle>
      {writable ? (
        <Field label="Default strategy" htmlFor="routing-strategy">
          <Select
            id="routing-strategy"
            className="self-start"
            value={text("routing", "", "strategy", routing.strategy ?? "weighted")}
            onChange={(e) => set({ section: "routing", name: "", field: "strategy", text: e.target.value })}
          >
            <StrategyOptions />
          </Select>
        </Field>
      ) : (
        <p className="text-sm">
          Default strategy: <strong>{routing.strategy ?? "weighted"}</strong>
        </p>
      )}

      <section aria-labelledby="groups-title">
        <h3 id="groups-title" className="mb-2 text-sm font-semibold">
          Strategy per model
        </h3>
        <Table aria-label="Model groups">
          <thead>
            <tr>
              <Th>Model</Th>
              <Th>Strategy</Th>
            </tr>
          </thead>
          <tbody>
            {Object.entries(routing.groups ?? {}).map(([model, group]) => (
              <tr key={model}>
                <Td className="font-mono">{model}</Td>
                <Td>
                  {writable ? (
                    <Select
                      aria-label={`strategy of ${model}`}
                      value={text("group", model, "strategy", group.strategy ?? "")}
                      onChange={(e) => set({ section: "group", name: model, field: "strategy", text: e.target.value })}
                    >
                      <option value="">the default</option>
                      <StrategyOptions />
                    </Select>
                  ) : (
                    (group.strategy ?? "the default")
                  )}
                </Td>
              </tr>
            ))}
          </tbody>
        </Table>
      </section>

      <section aria-labelledby="fallbacks-title">
        <h3 id="fallbacks-title" className="mb-2 text-sm font-semibold">
          Fallback chains
        </h3>
        <Table aria-label="Fallback chains">
          <thead>
            <tr>
              <Th>Model</Th>
              <Th>Then, in order</Th>
            </tr>
          </thead>
          <tbody>
            {Object.entries(routing.fallbacks ?? {}).map(([model, chain]) => (
              <tr key={model}>
                <Td className="font-mono">{model}</Td>
                <Td>
                  {writable ? (
                    <Input
                      aria-label={`fallbacks of ${model}`}
                      value={text("fallbacks", model, "", chain.join(", "))}
                      onChange={(e) => set({ section: "fallbacks", name: model, field: "", text: e.target.value })}
                    />
                  ) : (
                    chain.join(" → ")
                  )}
                </Td>
              </tr>
            ))}
          </tbody>
        </Table>
        {writable ? <AddFallback onAdd={set} /> : null}
      </section>

      <section aria-labelledby="auto-title">
        <h3 id="auto-title" className="mb-2 text-sm font-semibold">
          Auto groups (the router-service picks the model)
        </h3>
        <Table aria-label="Auto groups">
          <thead>
            <tr>
              <Th>Name</Th>
              <Th>Default model</Th>
              <Th>Strong model (savings baseline)</Th>
            </tr>
          </thead>
          <tbody>
            {Object.entries(routing.auto_groups ?? {}).map(([name, group]) => (
              <tr key={name}>
                <Td className="font-mono">{name}</Td>
                {(["default", "strong"] as const).map((which) => (
                  <Td key={which}>
                    {writable ? (
                      <Input
                        aria-label={`${which} model of ${name}`}
                        value={text("auto_group", name, which, group[which] ?? "")}
                        onChange={(e) => set({ section: "auto_group", name, field: which, text: e.target.value })}
                      />
                    ) : (
                      (group[which] ?? "—")
                    )}
                  </Td>
                ))}
              </tr>
            ))}
          </tbody>
        </Table>
        <p className="mt-2 text-xs text-slate-600">
          The router-service&apos;s deadline is {draft.routing?.router_service?.deadline_ms ?? 50} ms; past it the
          default model answers.
        </p>
      </section>
    </Card>
  );
}

function StrategyOptions() {
  return (
    <>
      {Object.entries(STRATEGIES).map(([value, label]) => (
        <option key={value} value={value}>
          {label}
        </option>
      ))}
    </>
  );
}

function AddFallback({ onAdd }: { onAdd: (edit: Edit) => void }) {
  const [model, setModel] = useState("");
  const [chain, setChain] = useState("");
  function submit(event: FormEvent) {
    event.preventDefault();
    onAdd({ section: "fallbacks", name: model.trim(), field: "", text: chain });
    setModel("");
    setChain("");
  }
  return (
    <form onSubmit={submit} className="mt-3 flex flex-wrap items-end gap-3">
      <Field label="Model" htmlFor="fallback-model">
        <Input id="fallback-model" value={model} onChange={(e) => setModel(e.target.value)} required />
      </Field>
      <Field label="Falls back to (comma-separated)" htmlFor="fallback-chain">
        <Input id="fallback-chain" value={chain} onChange={(e) => setChain(e.target.value)} required />
      </Field>
      <Button type="submit" variant="outline">
        Add fallback chain
      </Button>
    </form>
  );
}
