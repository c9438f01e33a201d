import { Table, Td, Th } from "@/components/ui/table";
import type { Change } from "@/lib/api/config";

import { shown } from "./draft";

/** A config diff as the gateway computes it: dotted path, before, after. */
export function DiffTable({ changes, label }: { changes: Change[]; label: string }) {
  if (!changes.length) return <p className="text-sm text-slate-700">No changes.</p>;
  return (
    <Table aria-label={label}>
      <thead>
        <tr>
          <Th>Path</Th>
          <Th>Before</Th>
          <Th>After</Th>
        </tr>
      </thead>
      <tbody>
        {changes.map((change) => (
          <tr key={change.path} data-path={change.path}>
            <Td className="font-mono">{change.path}</Td>
            <Td className="break-all font-mono text-red-900">{shown(change.before)}</Td>
            <Td className="break-all font-mono text-emerald-900">{shown(change.after)}</Td>
          </tr>
        ))}
      </tbody>
    </Table>
  );
}
