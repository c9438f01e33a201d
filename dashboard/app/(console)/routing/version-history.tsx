"use client";
import { useState } from "react";

import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Card, CardTitle } from "@/components/ui/card";
import { Table, Td, Th } from "@/components/ui/table";
import { useRollback, useVersions } from "@/lib/api/config";
import { formatTime } from "@/lib/format";

import { shown } from "./draft";

/** Every config version, newest first, with its diff; an admin may roll back to one. */
export function VersionHistory({ writable, onRolledBack }: { writable: boolean; onRolledBack: () => void }) {
  const versions = useVersions();
  const rollback = useRollback();
  const [confirming, setConfirming] = useState<number | null>(null);
  const newest = versions.data?.data[0]?.version;
  const failure = versions.error ?? rollback.error;

  function roll(to: number) {
    if (newest === undefined) return;
    rollback.mutate({ to, newest }, { onSuccess: onRolledBack, onSettled: () => setConfirming(null) });
  }

  return (
    <Card>
      <CardTitle>Config history</CardTitle>
      {failure ? <Alert tone="error">{failure.message}</Alert> : null}
      <Table aria-label="Config versions">
        <thead>
          <tr>
            <Th>Version</Th>
            <Th>When</Th>
            <Th>By</Th>
            <Th>Comment</Th>
            <Th>Changes</Th>
            {writable ? <Th>Actions</Th> : null}
          </tr>
        </thead>
        <tbody>
          {versions.data?.data.map((row) => (
            <tr key={row.version} data-version={row.version}>
              <Td>{row.version}</Td>
              <Td>{formatTime(row.created_at)}</Td>
              <Td className="font-mono">{row.author}</Td>
              <Td>
                {row.comment || "—"}
                {row.rolled_back_to ? ` (rollback to ${row.rolled_back_to})` : ""}
              </Td>
              <Td>
                <ul className="break-all font-mono text-xs">
                  {row.diff.slice(0, 8).map((change) => (
                    <li key={change.path}>
                      {change.path}: {shown(change.before, 80)} → {shown(change.after, 80)}
                    </li>
                  ))}
                  {row.diff.length > 8 ? <li>… and {row.diff.length - 8} more</li> : null}
                </ul>
              </Td>
              {writable ? (
                <Td>
                  {row.version === newest ? null : confirming === row.version ? (
                    <Button size="sm" variant="destructive" onClick={() => roll(row.version)} disabled={rollback.isPending}>
                      Confirm rollback to version {row.version}
                    </Button>
                  ) : (
                    <Button size="sm" variant="outline" onClick={() => setConfirming(row.version)}>
                      Roll back to version {row.version}
                    </Button>
                  )}
                </Td>
              ) : null}
            </tr>
          ))}
        </tbody>
      </Table>
    </Card>
  );
}
