"use client";
/** Admin tokens (`sk-gwadmin-…`): list, issue with a role (secret shown once), revoke. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { unwrap, type Schemas } from "./client";
import { useApi } from "./context";

export type AdminToken = Schemas["TokenOut"];
export type IssuedToken = Schemas["TokenIssued"];
const TOKENS = ["tokens"] as const;

export function useTokens() {
  const { client } = useApi();
  return useQuery({
    queryKey: TOKENS,
    queryFn: () => unwrap(client.GET("/admin/tokens", { params: { query: { limit: 200 } } })),
  });
}

export function useIssueToken() {
  const { client } = useApi();
  const queries = useQueryClient();
  return useMutation({
    mutationFn: (body: Schemas["TokenIn"]) => unwrap(client.POST("/admin/tokens", { body })),
    onSuccess: () => queries.invalidateQueries({ queryKey: TOKENS }),
  });
}

export function useRevokeToken() {
  const { client } = useApi();
  const queries = useQueryClient();
  return useMutation({
    mutationFn: (id: string) =>
      unwrap(client.POST("/admin/tokens/{token_id}/revoke", { params: { path: { token_id: id } } })),
    onSuccess: () => queries.invalidateQueries({ queryKey: TOKENS }),
  });
}
