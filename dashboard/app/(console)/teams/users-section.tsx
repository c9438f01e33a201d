"use client";
import { useState, type FormEvent } from "react";

import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Card, CardTitle } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Field } from "@/components/ui/label";
import { Select } from "@/components/ui/select";
import { Table, Td, Th } from "@/components/ui/table";
import { useTeams } from "@/lib/api/teams";
import { useCreateUser, useUsers } from "@/lib/api/users";

export function UsersSection({ writable }: { writable: boolean }) {
  const users = useUsers();
  const teams = useTeams();
  const create = useCreateUser();
  const [email, setEmail] = useState("");
  const [teamId, setTeamId] = useState("");
  const failure = create.error ?? users.error;

  function submit(event: FormEvent) {
    event.preventDefault();
    create.mutate({ email, team_id: teamId || null }, { onSuccess: () => setEmail("") });
  }

  return (
    <Card>
      <CardTitle>Users</CardTitle>
      {failure ? <Alert tone="error">{failure.message}</Alert> : null}
      {writable ? (
        <form onSubmit={submit} className="mb-4 flex flex-wrap items-end gap-3">
          <Field label="Email" htmlFor="user-email">
            <Input id="user-email" type="email" value={email} onChange={(e) => setEmail(e.target.value)} required />
          </Field>
          <Field label="Team" htmlFor="user-team">
            <Select id="user-team" value={teamId} onChange={(e) => setTeamId(e.target.value)}>
              <option value="">No team</option>
              {teams.data?.data.map((t) => (
                <option key={t.id} value={t.id}>
                  {t.name}
                </option>
              ))}
            </Select>
          </Field>
          <Button type="submit" disabled={create.isPending}>
            Create user
          </Button>
        </form>
      ) : null}
      <Table aria-label="Users">
        <thead>
          <tr>
            <Th>Email</Th>
            <Th>Id</Th>
            <Th>Team</Th>
            <Th>Status</Th>
          </tr>
        </thead>
        <tbody>
          {users.data?.data.map((user) => (
            <tr key={user.id}>
              <Td>{user.email}</Td>
              <Td className="font-mono">{user.id}</Td>
              <Td>{user.team_id ?? "—"}</Td>
              <Td>{user.status}</Td>
            </tr>
          ))}
        </tbody>
      </Table>
    </Card>
  );
}
