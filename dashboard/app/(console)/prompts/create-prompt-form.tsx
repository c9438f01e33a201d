"use client";
import { useState, type FormEvent } from "react";

import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Card, CardTitle } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Field } from "@/components/ui/label";
import { useCreatePrompt } from "@/lib/api/prompts";

import { TemplateEditor } from "./template-editor";

/** A new prompt: its name and first message (version 1, labelled production). */
export function CreatePromptForm({ onCreated }: { onCreated: (name: string) => void }) {
  const create = useCreatePrompt();
  const [name, setName] = useState("");
  const [content, setContent] = useState("");

  function submit(event: FormEvent) {
    event.preventDefault();
    create.mutate(
      { name, messages: [{ role: "user", content }] },
      {
        onSuccess: (created) => {
          setName("");
          setContent("");
          onCreated(created.name);
        },
      },
    );
  }

  return (
    <Card>
      <CardTitle>Create a prompt</CardTitle>
      {create.error ? <Alert tone="error">{create.error.message}</Alert> : null}
      <form onSubmit={submit} className="flex flex-col gap-3">
        <Field label="Prompt name" htmlFor="prompt-name">
          <Input id="prompt-name" value={name} onChange={(e) => setName(e.target.value)} required maxLength={64} />
        </Field>
        <div className="flex flex-col gap-1">
          <span className="text-sm font-medium text-slate-800">First user message (Mustache)</span>
          <TemplateEditor label="First user message" value={content} onChange={setContent} />
        </div>
        <Button type="submit" className="self-start" disabled={create.isPending || !content}>
          Create prompt
        </Button>
      </form>
    </Card>
  );
}
