"use client";
/** Agent sessions (`/admin/sessions`): the recent ones with totals, and one step by step. */
import { useQuery } from "@tanstack/react-query";

import { unwrap, type Schemas } from "./client";
import { useApi } from "./context";

export type SessionSummary = Schemas["SessionSummary"];
export type SessionStep = Schemas["Step"];

export function useAgentSessions() {
  const { client } = useApi();
  return useQuery({
    queryKey: ["agent-sessions"],
    queryFn: () => unwrap(client.GET("/admin/sessions", { params: { query: { limit: 100 } } })),
  });
}

export function useAgentSession(id: string | null) {
  const { client } = useApi();
  return useQuery({
    queryKey: ["agent-sessions", id],
    enabled: id !== null,
    queryFn: () =>
      unwrap(client.GET("/admin/sessions/{session_id}", { params: { path: { session_id: id ?? "" } } })),
  });
}
