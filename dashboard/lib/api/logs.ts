"use client";
/** `/admin/logs`: request-log pages by cursor, and one request's detail. */
import { useInfiniteQuery, useQuery } from "@tanstack/react-query";

import { unwrap, type Schemas } from "./client";
import { useApi } from "./context";

export type LogEntry = Schemas["LogEntry"];
export type LogDetail = Schemas["LogDetail"];

export interface LogFilters {
  since?: string;
  until?: string;
  team_id?: string;
  key_id?: string;
  user_id?: string;
  model?: string;
  provider?: string;
  status?: string;
  cache?: "hit" | "miss";
  route?: "auto" | "fallback" | "direct";
  parent_request_id?: string;
  order?: "desc" | "asc";
}

export const PAGE_SIZE = 100;

export function useLogs(filters: LogFilters) {
  const { client } = useApi();
  return useInfiniteQuery({
    queryKey: ["logs", filters],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) =>
      unwrap(client.GET("/admin/logs", { params: { query: { ...filters, limit: PAGE_SIZE, after: pageParam } } })),
    getNextPageParam: (page) => (page.has_more ? (page.next_after ?? undefined) : undefined),
  });
}

export function useLogDetail(requestId: string | null) {
  const { client } = useApi();
  return useQuery({
    queryKey: ["log", requestId],
    enabled: requestId !== null,
    queryFn: () =>
      unwrap(client.GET("/admin/logs/{request_id}", { params: { path: { request_id: requestId ?? "" } } })),
  });
}
