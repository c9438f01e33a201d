"use client";
/** `/admin/cache`: statistics, and clearing every team's entries. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { errorOf, unwrap } from "./client";
import { useApi } from "./context";

const STATS = ["cache-stats"] as const;

export function useCacheStats() {
  const { client } = useApi();
  return useQuery({ queryKey: STATS, queryFn: () => unwrap(client.GET("/admin/cache/stats")) });
}

export function useClearCache() {
  const { client } = useApi();
  const queries = useQueryClient();
  return useMutation({
    mutationFn: async (olderThan: string | null) => {
      // The clear request's body is read by hand on the server, so it is not in the schema.
      const body = JSON.stringify(olderThan ? { scope: "all", older_than: olderThan } : { scope: "all" });
      const { data, error, response } = await client.DELETE("/admin/cache", {
        bodySerializer: () => body,
        body: {} as never,
        headers: { "content-type": "application/json" },
      });
      if (!response.ok) throw errorOf(response.status, error);
      return data;
    },
    onSuccess: () => queries.invalidateQueries({ queryKey: STATS }),
  });
}
