"use client";
import { useQueryStates } from "nuqs";
import { useState, type FormEvent } from "react";

import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import { Field } from "@/components/ui/label";
import { Select } from "@/components/ui/select";

import { FILTER_PARSERS } from "./filters";

const TEXT_FILTERS = [
  ["key_id", "Key id"],
  ["team_id", "Team id"],
  ["user_id", "User id"],
  ["model", "Model"],
  ["provider", "Provider"],
  ["status", "Status (429, 5xx, error)"],
] as const;

/** The filter form: edits are applied to the URL on submit, so typing does not refetch. */
export function LogFilterBar() {
  const [state, setState] = useQueryStates(FILTER_PARSERS);
  const [draft, setDraft] = useState(() => ({ ...state }));
  const set = (name: keyof typeof draft) => (event: { target: { value: string } }) =>
    setDraft({ ...draft, [name]: event.target.value || null });

  function apply(event: FormEvent) {
    event.preventDefault();
    void setState(draft);
  }

  function clear() {
    const empty = Object.fromEntries(Object.keys(FILTER_PARSERS).map((name) => [name, null])) as typeof draft;
    setDraft(empty);
    void setState(empty);
  }

  return (
    <form onSubmit={apply} className="grid grid-cols-2 gap-3 rounded-lg border border-slate-200 bg-white p-4 md:grid-cols-4 xl:grid-cols-7">
      <Field label="Since" htmlFor="f-since">
        <Input id="f-since" type="datetime-local" value={draft.since ?? ""} onChange={set("since")} />
      </Field>
      <Field label="Until" htmlFor="f-until">
        <Input id="f-until" type="datetime-local" value={draft.until ?? ""} onChange={set("until")} />
      </Field>
      {TEXT_FILTERS.map(([name, label]) => (
        <Field key={name} label={label} htmlFor={`f-${name}`}>
          <Input id={`f-${name}`} value={draft[name] ?? ""} onChange={set(name)} />
        </Field>
      ))}
      <Field label="Cache" htmlFor="f-cache">
        <Select id="f-cache" value={draft.cache ?? ""} onChange={set("cache")}>
          <option value="">any</option>
          <option value="hit">hit</option>
          <option value="miss">miss</option>
        </Select>
      </Field>
      <Field label="Route" htmlFor="f-route">
        <Select id="f-route" value={draft.route ?? ""} onChange={set("route")}>
          <option value="">any</option>
          <option value="auto">auto (router chose)</option>
          <option value="fallback">fallback</option>
          <option value="direct">direct</option>
        </Select>
      </Field>
      <Field label="Order" htmlFor="f-order">
        <Select id="f-order" value={draft.order ?? "desc"} onChange={set("order")}>
          <option value="desc">newest first</option>
          <option value="asc">oldest first</option>
        </Select>
      </Field>
      <div className="flex items-end gap-2">
        <Button type="submit">Apply</Button>
        <Button variant="outline" onClick={clear}>
          Clear
        </Button>
      </div>
    </form>
  );
}
