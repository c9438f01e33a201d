"use client";
/** Virtual keys: list, issue (the secret comes back once), rotate with grace, revoke. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { unwrap, type Schemas } from "./client";
import { useApi } from "./context";

export type Key = Schemas["KeyOut"];
export type IssuedKey = Schemas["KeyIssued"];
export type NewKey = Schemas["KeyFields"];
const KEYS = ["keys"] as const;

export function useKeys(status?: "active" | "revoked") {
  const { client } = useApi();
  return useQuery({
    queryKey: [...KEYS, status ?? "all"],
    queryFn: () => unwrap(client.GET("/admin/keys", { params: { query: { limit: 200, status } } })),
  });
}

export function useCreateKey() {
  const { client } = useApi();
  const queries = useQueryClient();
  return useMutation({
    mutationFn: (body: NewKey) => unwrap(client.POST("/admin/keys", { body })),
    onSuccess: () => queries.invalidateQueries({ queryKey: KEYS }),
  });
}

export function useRotateKey() {
  const { client } = useApi();
  const queries = useQueryClient();
  return useMutation({
    mutationFn: ({ id, grace_s }: { id: string; grace_s: number }) =>
      unwrap(client.POST("/admin/keys/{key_id}/rotate", { params: { path: { key_id: id } }, body: { grace_s } })),
    onSuccess: () => queries.invalidateQueries({ queryKey: KEYS }),
  });
}

export function useRevokeKey() {
  const { client } = useApi();
  const queries = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => unwrap(client.POST("/admin/keys/{key_id}/revoke", { params: { path: { key_id: id } } })),
    onSuccess: () => queries.invalidateQueries({ queryKey: KEYS }),
  });
}
