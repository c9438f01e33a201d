"use client";
/**
 * Guardrail policies (`/admin/guardrails/policies`): the global list, set one (added at the
 * end or replaced in place), remove one. Each write is a new config version.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { unwrap } from "./client";
import { useApi } from "./context";
import type { paths } from "./schema";

export type Policy = paths["/admin/guardrails/policies/{name}"]["put"]["requestBody"]["content"]["application/json"];
export type Checks = Policy["checks"];
const GUARDRAILS = ["guardrails"] as const;

export function usePolicies() {
  const { client } = useApi();
  return useQuery({
    queryKey: GUARDRAILS,
    queryFn: async () => (await unwrap(client.GET("/admin/guardrails/policies"))) as Policy[],
  });
}

export function usePutPolicy() {
  const { client } = useApi();
  const queries = useQueryClient();
  return useMutation({
    mutationFn: (policy: Policy) =>
      unwrap(client.PUT("/admin/guardrails/policies/{name}", { params: { path: { name: policy.name } }, body: policy })),
    onSuccess: () => queries.invalidateQueries({ queryKey: GUARDRAILS }),
  });
}

export function useDeletePolicy() {
  const { client } = useApi();
  const queries = useQueryClient();
  return useMutation({
    mutationFn: (name: string) =>
      unwrap(client.DELETE("/admin/guardrails/policies/{name}", { params: { path: { name } } })),
    onSuccess: () => queries.invalidateQueries({ queryKey: GUARDRAILS }),
  });
}
