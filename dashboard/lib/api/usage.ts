"use client";
/** `/admin/usage/timeseries`: requests, tokens, cost, latency and errors per interval. */
import { useQuery } from "@tanstack/react-query";

import { unwrap, type Schemas } from "./client";
import { useApi } from "./context";

export type Series = Schemas["Series"];
export type Point = Schemas["Point"];
export type GroupBy = "none" | "team" | "key" | "model" | "provider";
export type Interval = "1m" | "5m" | "15m" | "1h" | "6h" | "1d";

export function useTimeseries(params: { since: string; until: string; interval: Interval; group_by: GroupBy }) {
  const { client } = useApi();
  return useQuery({
    queryKey: ["usage", params],
    queryFn: () => unwrap(client.GET("/admin/usage/timeseries", { params: { query: params } })),
  });
}
