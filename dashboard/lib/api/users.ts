"use client";
/** Users: list, create, delete. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { unwrap, type Schemas } from "./client";
import { useApi } from "./context";

export type User = Schemas["UserOut"];
const USERS = ["users"] as const;

export function useUsers() {
  const { client } = useApi();
  return useQuery({
    queryKey: USERS,
    queryFn: () => unwrap(client.GET("/admin/users", { params: { query: { limit: 200 } } })),
  });
}

export function useCreateUser() {
  const { client } = useApi();
  const queries = useQueryClient();
  return useMutation({
    mutationFn: (body: Schemas["UserIn"]) => unwrap(client.POST("/admin/users", { body })),
    onSuccess: () => queries.invalidateQueries({ queryKey: USERS }),
  });
}
