"use client";
/** The audit log (`/admin/audit`): admin writes, newest first, paged by id. */
import { useInfiniteQuery } from "@tanstack/react-query";

import { unwrap, type Schemas } from "./client";
import { useApi } from "./context";

export type AuditEntry = Schemas["AuditOut"];

export interface AuditFilters {
  actor?: string;
  target?: string;
}

export function useAudit(filters: AuditFilters) {
  const { client } = useApi();
  return useInfiniteQuery({
    queryKey: ["audit", filters],
    initialPageParam: undefined as number | undefined,
    queryFn: ({ pageParam }) =>
      unwrap(client.GET("/admin/audit", { params: { query: { ...filters, limit: 50, after: pageParam } } })),
    getNextPageParam: (page) => (page.has_more ? (page.next_after ?? undefined) : undefined),
  });
}
