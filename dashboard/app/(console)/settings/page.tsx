"use client";
import { useState, type FormEvent } from "react";

import { Alert } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardTitle } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Field } from "@/components/ui/label";
import { Select } from "@/components/ui/select";
import { Table, Td, Th } from "@/components/ui/table";
import { useSession } from "@/lib/api/session";
import { useTeams } from "@/lib/api/teams";
import { useIssueToken, useRevokeToken, useTokens, type IssuedToken } from "@/lib/api/tokens";
import { formatTime } from "@/lib/format";
import { can } from "@/lib/roles";

import { AuditLog } from "./audit-log";

type Role = "admin" | "developer" | "readonly";

export default function SettingsPage() {
  const session = useSession().data;
  const writable = can(session?.role, "write:tokens");
  return (
    <div className="flex flex-col gap-6">
      <h1 className="text-2xl font-semibold">Settings</h1>
      <Card>
        <CardTitle>This session</CardTitle>
        <p className="text-sm">
          Role <strong>{session?.role}</strong>, until {formatTime(session?.expires_at)}.
        </p>
      </Card>
      {writable ? <AdminTokens /> : <p className="text-sm text-slate-700">Admin tokens are managed by admins.</p>}
      <AuditLog />
    </div>
  );
}

function AdminTokens() {
  const tokens = useTokens();
  const issue = useIssueToken();
  const revoke = useRevokeToken();
  const [name, setName] = useState("");
  const [role, setRole] = useState<Role>("readonly");
  // A developer token acts for one team: the gateway requires it.
  const [teamId, setTeamId] = useState("");
  const teams = useTeams();
  const [issued, setIssued] = useState<IssuedToken | null>(null);
  const failure = issue.error ?? revoke.error ?? tokens.error;

  function submit(event: FormEvent) {
    event.preventDefault();
    issue.mutate(
      { name, role, team_id: teamId || null },
      {
        onSuccess: (token) => {
          setIssued(token);
          setName("");
          setTeamId("");
        },
      },
    );
  }

  return (
    <Card>
      <CardTitle>Admin tokens</CardTitle>
      {failure ? <Alert tone="error">{failure.message}</Alert> : null}
      {issued ? (
        <Alert tone="success" className="mb-3 flex flex-col gap-2">
          <p>
            The token <strong>{issued.name}</strong> ({issued.role}) is shown once; store it now.
          </p>
          <code data-testid="issued-token" className="break-all rounded bg-white px-2 py-1 font-mono">
            {issued.token}
          </code>
          <Button size="sm" className="self-start" onClick={() => setIssued(null)}>
            I have stored it
          </Button>
        </Alert>
      ) : null}
      <form onSubmit={submit} className="mb-4 flex flex-wrap items-end gap-3">
        <Field label="Token name" htmlFor="token-name">
          <Input id="token-name" value={name} onChange={(e) => setName(e.target.value)} required maxLength={200} />
        </Field>
        <Field label="Role" htmlFor="token-role">
          <Select id="token-role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
            <option value="readonly">readonly: reads everything</option>
            <option value="developer">developer: also manages keys</option>
            <option value="admin">admin: everything</option>
          </Select>
        </Field>
        <Field label="Team" htmlFor="token-team">
          <Select id="token-team" value={teamId} onChange={(e) => setTeamId(e.target.value)} required={role === "developer"}>
            <option value="">{role === "developer" ? "choose a team (required)" : "no team"}</option>
            {teams.data?.data.map((team) => (
              <option key={team.id} value={team.id}>
                {team.name}
              </option>
            ))}
          </Select>
        </Field>
        <Button type="submit" disabled={issue.isPending}>
          Issue token
        </Button>
      </form>
      <Table aria-label="Admin tokens">
        <thead>
          <tr>
            <Th>Name</Th>
            <Th>Prefix</Th>
            <Th>Role</Th>
            <Th>Team</Th>
            <Th>Status</Th>
            <Th>Created</Th>
            <Th>Actions</Th>
          </tr>
        </thead>
        <tbody>
          {tokens.data?.data.map((token) => (
            <tr key={token.id}>
              <Td>{token.name}</Td>
              <Td className="font-mono">{token.token_prefix}…</Td>
              <Td>{token.role}</Td>
              <Td>{token.team_id ?? "—"}</Td>
              <Td>
                <Badge tone={token.status === "active" ? "good" : "bad"}>{token.status}</Badge>
              </Td>
              <Td>{formatTime(token.created_at)}</Td>
              <Td>
                {token.status === "active" ? (
                  <Button size="sm" variant="outline" onClick={() => revoke.mutate(token.id)}>
                    Revoke
                  </Button>
                ) : null}
              </Td>
            </tr>
          ))}
        </tbody>
      </Table>
    </Card>
  );
}
