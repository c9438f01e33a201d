"use client";
/** Teams: list, create, change (limits, budget, status), delete. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { unwrap, type Schemas } from "./client";
import { useApi } from "./context";

export type Team = Schemas["TeamOut"];
const TEAMS = ["teams"] as const;

export function useTeams() {
  const { client } = useApi();
  return useQuery({
    queryKey: TEAMS,
    queryFn: () => unwrap(client.GET("/admin/teams", { params: { query: { limit: 200 } } })),
  });
}

export function useCreateTeam() {
  const { client } = useApi();
  const queries = useQueryClient();
  return useMutation({
    mutationFn: (body: Schemas["TeamIn"]) => unwrap(client.POST("/admin/teams", { body })),
    onSuccess: () => queries.invalidateQueries({ queryKey: TEAMS }),
  });
}

export function useDeleteTeam() {
  const { client } = useApi();
  const queries = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => unwrap(client.DELETE("/admin/teams/{team_id}", { params: { path: { team_id: id } } })),
    onSuccess: () => queries.invalidateQueries({ queryKey: TEAMS }),
  });
}
