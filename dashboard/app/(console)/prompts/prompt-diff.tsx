"use client";
import { useEffect, useState } from "react";

import { Alert } from "@/components/ui/alert";
import { Card, CardTitle } from "@/components/ui/card";
import { usePromptDiff, type PromptDetail } from "@/lib/api/prompts";
import { cn } from "@/lib/utils";

import { diffLines } from "./mustache";
import { VersionSelect } from "./version-select";

const TONE = {
  added: "bg-emerald-50 text-emerald-900",
  removed: "bg-red-50 text-red-900",
  hunk: "text-slate-600",
  context: "text-slate-900",
};

/** What changed between two versions, as the gateway's unified diff. */
export function PromptDiff({ prompt }: { prompt: PromptDetail }) {
  const latest = prompt.latest_version;
  const [from, setFrom] = useState(Math.max(1, latest - 1));
  const [to, setTo] = useState(latest);
  useEffect(() => {
    setFrom(Math.max(1, latest - 1));
    setTo(latest);
  }, [prompt.name, latest]);
  const diff = usePromptDiff(prompt.name, from, to);
  return (
    <Card>
      <CardTitle>Diff</CardTitle>
      <div className="mb-3 flex gap-3">
        <VersionSelect prompt={prompt} id="diff-from" label="From version" value={from} onChange={setFrom} />
        <VersionSelect prompt={prompt} id="diff-to" label="To version" value={to} onChange={setTo} />
      </div>
      {diff.error ? <Alert tone="error">{diff.error.message}</Alert> : null}
      {from === to ? <p className="text-sm text-slate-700">Choose two different versions.</p> : null}
      {diff.data && from !== to ? (
        <pre aria-label="Version diff" className="overflow-x-auto rounded border border-slate-200 text-sm">
          {diffLines(diff.data.diff).map((line, index) => (
            <div key={index} className={cn("px-2", TONE[line.kind])}>
              {line.text}
            </div>
          ))}
        </pre>
      ) : null}
    </Card>
  );
}
