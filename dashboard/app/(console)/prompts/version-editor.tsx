"use client";
import { useEffect, useState, type FormEvent } from "react";

import { Alert } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardTitle } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Field } from "@/components/ui/label";
import { Select } from "@/components/ui/select";
import { Table, Td, Th } from "@/components/ui/table";
import { useAddVersion, type PromptDetail, type PromptMessage } from "@/lib/api/prompts";
import { formatTime } from "@/lib/format";

import { TemplateEditor } from "./template-editor";
import { VersionSelect } from "./version-select";

const ROLES: PromptMessage["role"][] = ["system", "developer", "user", "assistant"];

/** The versions of a prompt, and an editor that saves a changed one as the next version. */
export function VersionEditor({ prompt, writable }: { prompt: PromptDetail; writable: boolean }) {
  const [base, setBase] = useState(prompt.latest_version);
  const [messages, setMessages] = useState<PromptMessage[]>([]);
  const [comment, setComment] = useState("");
  const save = useAddVersion();
  const shown = prompt.versions.find((v) => v.version === base) ?? prompt.versions.at(-1);

  useEffect(() => setBase(prompt.latest_version), [prompt.name, prompt.latest_version]);
  useEffect(() => setMessages((shown?.messages as PromptMessage[] | undefined) ?? []), [shown]);

  const labelsOf = (version: number) =>
    Object.entries(prompt.labels).filter(([, v]) => v === version).map(([label]) => label);
  const edit = (index: number, patch: Partial<PromptMessage>) =>
    setMessages(messages.map((m, i) => (i === index ? { ...m, ...patch } : m)));

  function submit(event: FormEvent) {
    event.preventDefault();
    const body = { messages, comment: comment || null, model: shown?.model ?? null, params: shown?.params ?? {} };
    save.mutate({ name: prompt.name, body }, { onSuccess: () => setComment("") });
  }

  return (
    <Card>
      <CardTitle>Versions</CardTitle>
      <Table aria-label="Prompt versions">
        <thead>
          <tr>
            <Th>Version</Th>
            <Th>Labels</Th>
            <Th>Comment</Th>
            <Th>Author</Th>
            <Th>Saved</Th>
          </tr>
        </thead>
        <tbody>
          {prompt.versions.map((version) => (
            <tr key={version.version} data-version={version.version}>
              <Td>v{version.version}</Td>
              <Td>
                <span className="flex flex-wrap gap-1">
                  {labelsOf(version.version).map((label) => (
                    <Badge key={label}>{label}</Badge>
                  ))}
                </span>
              </Td>
              <Td>{version.comment ?? "—"}</Td>
              <Td>{version.author ?? "—"}</Td>
              <Td>{formatTime(version.created_at)}</Td>
            </tr>
          ))}
        </tbody>
      </Table>
      <form onSubmit={submit} className="mt-4 flex flex-col gap-3">
        <VersionSelect prompt={prompt} id="base-version" label="Show version" value={base} onChange={setBase} className="w-40" />
        {messages.map((message, index) => (
          <div key={index} className="flex flex-col gap-1">
            <div className="flex items-end gap-2">
              <Field label={`Message ${index + 1} role`} htmlFor={`message-role-${index}`}>
                <Select
                  id={`message-role-${index}`}
                  value={message.role}
                  disabled={!writable}
                  onChange={(e) => edit(index, { role: e.target.value as PromptMessage["role"] })}
                >
                  {ROLES.map((role) => (
                    <option key={role}>{role}</option>
                  ))}
                </Select>
              </Field>
              {writable && messages.length > 1 ? (
                <Button size="sm" variant="ghost" onClick={() => setMessages(messages.filter((_, i) => i !== index))}>
                  Remove message {index + 1}
                </Button>
              ) : null}
            </div>
            <TemplateEditor
              label={`Message ${index + 1} template`}
              value={message.content}
              readOnly={!writable}
              onChange={(content) => edit(index, { content })}
            />
          </div>
        ))}
        {writable ? (
          <>
            <Button
              variant="outline"
              className="self-start"
              onClick={() => setMessages([...messages, { role: "user", content: "" }])}
            >
              Add message
            </Button>
            <Field label="Version comment" htmlFor="version-comment">
              <Input id="version-comment" value={comment} onChange={(e) => setComment(e.target.value)} maxLength={1000} />
            </Field>
            {save.error ? <Alert tone="error">{save.error.message}</Alert> : null}
            {save.data ? <Alert tone="success">Saved as v{save.data.version}.</Alert> : null}
            <Button type="submit" className="self-start" disabled={save.isPending}>
              Save as new version
            </Button>
          </>
        ) : null}
      </form>
    </Card>
  );
}
