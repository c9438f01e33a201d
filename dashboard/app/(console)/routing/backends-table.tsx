"use client";
import { Input } from "@/components/ui/input";
import { Table, Td, Th } from "@/components/ui/table";
import type { ConfigDocument } from "@/lib/api/config";

import { editKey, withEdit, type Edits } from "./draft";

interface Props {
  draft: ConfigDocument;
  edits: Edits;
  writable: boolean;
  onEdit: (edits: Edits) => void;
}

/** Every deployment with its weight and priority, editable by an admin in database mode. */
export function BackendsTable({ draft, edits, writable, onEdit }: Props) {
  function field(name: string, which: "weight" | "priority", value: number | undefined) {
    const text = edits[editKey("backend", name, which)]?.text ?? String(value ?? (which === "weight" ? 1 : 0));
    if (!writable) return text;
    return (
      <Input
        aria-label={`${which} of ${name}`}
        className="w-24"
        inputMode="decimal"
        value={text}
        onChange={(e) => onEdit(withEdit(edits, { section: "backend", name, field: which, text: e.target.value }))}
      />
    );
  }

  return (
    <Table aria-label="Backends">
      <thead>
        <tr>
          <Th>Name</Th>
          <Th>Provider / model</Th>
          <Th>Serves</Th>
          <Th>Weight</Th>
          <Th>Priority</Th>
          <Th>Region / tags</Th>
          <Th>Key</Th>
        </tr>
      </thead>
      <tbody>
        {draft.backends.map((backend) => (
          <tr key={backend.name} data-backend={backend.name}>
            <Td className="font-mono">{backend.name}</Td>
            <Td>
              {backend.provider} / {backend.model}
            </Td>
            <Td>{backend.serves?.length ? backend.serves.join(", ") : backend.model}</Td>
            <Td>{field(backend.name, "weight", backend.weight)}</Td>
            <Td>{field(backend.name, "priority", backend.priority)}</Td>
            <Td>{[backend.region, ...(backend.tags ?? [])].filter(Boolean).join(", ") || "—"}</Td>
            <Td className="font-mono">{backend.api_key_ref ?? "—"}</Td>
          </tr>
        ))}
      </tbody>
    </Table>
  );
}
