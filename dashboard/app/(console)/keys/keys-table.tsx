"use client";
import { useState } from "react";

import { Alert } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardTitle } from "@/components/ui/card";
import { Table, Td, Th } from "@/components/ui/table";
import { useKeys, useRevokeKey, useRotateKey, type IssuedKey, type Key } from "@/lib/api/keys";
import { formatTime } from "@/lib/format";

const DAY_S = 86_400;

export function KeysTable({ writable, onIssued }: { writable: boolean; onIssued: (key: IssuedKey) => void }) {
  const keys = useKeys();
  const rotate = useRotateKey();
  const revoke = useRevokeKey();
  const [confirming, setConfirming] = useState<string | null>(null);
  const failure = rotate.error ?? revoke.error ?? keys.error;

  return (
    <Card>
      <CardTitle>Virtual keys</CardTitle>
      {failure ? <Alert tone="error">{failure.message}</Alert> : null}
      <Table aria-label="Virtual keys">
        <thead>
          <tr>
            <Th>Name</Th>
            <Th>Prefix</Th>
            <Th>Team</Th>
            <Th>Models</Th>
            <Th>Limits</Th>
            <Th>Status</Th>
            <Th>Created</Th>
            {writable ? <Th>Actions</Th> : null}
          </tr>
        </thead>
        <tbody>
          {keys.data?.data.map((key: Key) => (
            <tr key={key.id} data-key-id={key.id}>
              <Td>{key.name ?? "—"}</Td>
              <Td className="font-mono">{key.key_prefix}…</Td>
              <Td>{key.team_id ?? "—"}</Td>
              <Td>{key.allowed_models.length ? key.allowed_models.join(", ") : "all"}</Td>
              <Td>
                {[key.rpm && `${key.rpm} rpm`, key.tpm && `${key.tpm} tpm`, key.max_tokens_cap && `cap ${key.max_tokens_cap}`]
                  .filter(Boolean)
                  .join(", ") || "—"}
              </Td>
              <Td>
                <Badge tone={key.status === "active" ? "good" : "bad"}>{key.status}</Badge>
              </Td>
              <Td>{formatTime(key.created_at)}</Td>
              {writable ? (
                <Td>
                  {key.status === "active" ? (
                    <div className="flex gap-2">
                      <Button
                        size="sm"
                        variant="outline"
                        onClick={() => rotate.mutate({ id: key.id, grace_s: DAY_S }, { onSuccess: onIssued })}
                      >
                        Rotate (1 day grace)
                      </Button>
                      {confirming === key.id ? (
                        <Button
                          size="sm"
                          variant="destructive"
                          onClick={() => revoke.mutate(key.id, { onSettled: () => setConfirming(null) })}
                        >
                          Confirm revoke
                        </Button>
                      ) : (
                        <Button size="sm" variant="outline" onClick={() => setConfirming(key.id)}>
                          Revoke
                        </Button>
                      )}
                    </div>
                  ) : null}
                </Td>
              ) : null}
            </tr>
          ))}
        </tbody>
      </Table>
    </Card>
  );
}
