"use client";
import { Alert } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardTitle } from "@/components/ui/card";
import { Table, Td, Th } from "@/components/ui/table";
import { useDeletePolicy, usePolicies } from "@/lib/api/guardrails";

import { describeChecks } from "./policy-draft";

/** The global policies, in the order they run. */
export function PolicyTable({ writable }: { writable: boolean }) {
  const policies = usePolicies();
  const remove = useDeletePolicy();
  const failure = policies.error ?? remove.error;
  return (
    <Card>
      <CardTitle>Policies</CardTitle>
      {failure ? <Alert tone="error">{failure.message}</Alert> : null}
      <Table aria-label="Guardrail policies">
        <thead>
          <tr>
            <Th>Name</Th>
            <Th>Runs on</Th>
            <Th>Checks</Th>
            {writable ? <Th>Actions</Th> : null}
          </tr>
        </thead>
        <tbody>
          {policies.data?.map((policy) => (
            <tr key={policy.name} data-policy={policy.name}>
              <Td className="font-mono">{policy.name}</Td>
              <Td>{(policy.on ?? ["request"]).join(", ")}</Td>
              <Td>
                <span className="flex flex-wrap gap-1">
                  {describeChecks(policy.checks).map((check) => (
                    <Badge key={check}>{check}</Badge>
                  ))}
                </span>
              </Td>
              {writable ? (
                <Td>
                  <Button size="sm" variant="outline" onClick={() => remove.mutate(policy.name)}>
                    Remove {policy.name}
                  </Button>
                </Td>
              ) : null}
            </tr>
          ))}
        </tbody>
      </Table>
      {policies.data?.length === 0 ? <p className="mt-2 text-sm text-slate-700">No global policy.</p> : null}
    </Card>
  );
}
