"use client";
import { useEffect, useState, type FormEvent } from "react";

import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Card, CardTitle } from "@/components/ui/card";
import { Field } from "@/components/ui/label";
import { useRender, type PromptDetail } from "@/lib/api/prompts";

import { variablesTemplate } from "./mustache";
import { VersionSelect } from "./version-select";

/** A dry run: a version rendered with the variables given, nothing sent to a model. */
export function TestRender({ prompt }: { prompt: PromptDetail }) {
  const render = useRender();
  const [version, setVersion] = useState(prompt.latest_version);
  const [variables, setVariables] = useState("{}");
  const [invalid, setInvalid] = useState<string | null>(null);
  const chosen = prompt.versions.find((v) => v.version === version);

  useEffect(() => setVersion(prompt.latest_version), [prompt.name, prompt.latest_version]);
  useEffect(() => {
    setVariables(variablesTemplate((chosen?.messages ?? []).map((m) => m.content ?? "")));
  }, [chosen]);

  function submit(event: FormEvent) {
    event.preventDefault();
    let parsed: unknown;
    try {
      parsed = JSON.parse(variables);
    } catch {
      parsed = null;
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      setInvalid("The variables must be a JSON object.");
      return;
    }
    setInvalid(null);
    render.mutate({ name: prompt.name, body: { version, variables: parsed as Record<string, unknown> } });
  }

  return (
    <Card>
      <CardTitle>Test render</CardTitle>
      <form onSubmit={submit} className="flex flex-col gap-3">
        <VersionSelect
          prompt={prompt}
          id="render-version"
          label="Render version"
          value={version}
          onChange={setVersion}
          className="w-40"
        />
        <Field label="Variables (JSON)" htmlFor="render-variables">
          <textarea
            id="render-variables"
            value={variables}
            onChange={(e) => setVariables(e.target.value)}
            rows={4}
            className="rounded-md border border-slate-300 p-2 font-mono text-sm"
          />
        </Field>
        <Button type="submit" className="self-start" disabled={render.isPending}>
          Render
        </Button>
      </form>
      {invalid ? <Alert tone="error">{invalid}</Alert> : null}
      {render.error ? <Alert tone="error">{render.error.message}</Alert> : null}
      {render.data ? (
        <div aria-label="Rendered messages" className="mt-3 flex flex-col gap-2">
          {render.data.messages.map((message, index) => (
            <div key={index} className="rounded border border-slate-200 p-2 text-sm">
              <span className="font-semibold">{message.role}</span>
              <p className="whitespace-pre-wrap">{message.content}</p>
            </div>
          ))}
          {render.data.unused_variables.length ? (
            <p className="text-sm text-slate-700">Not used: {render.data.unused_variables.join(", ")}</p>
          ) : null}
        </div>
      ) : null}
    </Card>
  );
}
