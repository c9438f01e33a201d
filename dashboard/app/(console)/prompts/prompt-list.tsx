"use client";
import { Alert } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardTitle } from "@/components/ui/card";
import { Table, Td, Th } from "@/components/ui/table";
import { usePrompts } from "@/lib/api/prompts";
import { formatTime } from "@/lib/format";

export function PromptList({ selected, onSelect }: { selected: string | null; onSelect: (name: string) => void }) {
  const prompts = usePrompts();
  return (
    <Card>
      <CardTitle>Templates</CardTitle>
      {prompts.error ? <Alert tone="error">{prompts.error.message}</Alert> : null}
      <Table aria-label="Prompt templates">
        <thead>
          <tr>
            <Th>Name</Th>
            <Th>Latest version</Th>
            <Th>Labels</Th>
            <Th>Experiment</Th>
            <Th>Created</Th>
            <Th>Open</Th>
          </tr>
        </thead>
        <tbody>
          {prompts.data?.data.map((prompt) => (
            <tr key={prompt.name} aria-selected={prompt.name === selected}>
              <Td className="font-mono">{prompt.name}</Td>
              <Td>{prompt.latest_version}</Td>
              <Td>
                <span className="flex flex-wrap gap-1">
                  {Object.entries(prompt.labels).map(([label, version]) => (
                    <Badge key={label}>
                      {label} → v{version}
                    </Badge>
                  ))}
                </span>
              </Td>
              <Td>{prompt.experiment ? <Badge tone="warn">running</Badge> : "—"}</Td>
              <Td>{formatTime(prompt.created_at)}</Td>
              <Td>
                <Button size="sm" variant="outline" onClick={() => onSelect(prompt.name)}>
                  Open {prompt.name}
                </Button>
              </Td>
            </tr>
          ))}
        </tbody>
      </Table>
      {prompts.data?.data.length === 0 ? <p className="mt-2 text-sm text-slate-700">No prompt templates yet.</p> : null}
    </Card>
  );
}
