"use client";
import { parseAsString, useQueryState } from "nuqs";

import { Alert } from "@/components/ui/alert";
import { usePrompt } from "@/lib/api/prompts";
import { useSession } from "@/lib/api/session";
import { can } from "@/lib/roles";

import { CreatePromptForm } from "./create-prompt-form";
import { ExperimentPanel } from "./experiment-panel";
import { PromptDiff } from "./prompt-diff";
import { PromptLabels } from "./prompt-labels";
import { PromptList } from "./prompt-list";
import { TestRender } from "./test-render";
import { VersionEditor } from "./version-editor";

export default function PromptsPage() {
  const [name, setName] = useQueryState("prompt", parseAsString);
  const writable = can(useSession().data?.role, "write:prompts");
  const prompt = usePrompt(name);
  const detail = prompt.data;
  return (
    <div className="flex flex-col gap-4">
      <h1 className="text-2xl font-semibold">Prompts</h1>
      <PromptList selected={name} onSelect={(next) => void setName(next)} />
      {writable ? <CreatePromptForm onCreated={(next) => void setName(next)} /> : null}
      {prompt.error ? <Alert tone="error">{prompt.error.message}</Alert> : null}
      {detail ? (
        <>
          <h2 className="text-xl font-semibold">Prompt {detail.name}</h2>
          <VersionEditor prompt={detail} writable={writable} />
          <PromptLabels prompt={detail} writable={writable} />
          <PromptDiff prompt={detail} />
          <TestRender prompt={detail} />
          <ExperimentPanel prompt={detail} writable={writable} />
        </>
      ) : null}
    </div>
  );
}
