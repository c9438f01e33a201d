"use client";
/**
 * `/admin/providers`: each deployment's circuit, error rates and latency, and the requests
 * waiting for saturated groups, refreshed live.
 */
import { useQuery } from "@tanstack/react-query";

import { unwrap, type Schemas } from "./client";
import { useApi } from "./context";

export type DeploymentHealth = Schemas["DeploymentHealth"];
export type QueueDepth = Schemas["QueueDepth"];

export function useProviders() {
  const { client } = useApi();
  return useQuery({
    queryKey: ["providers"],
    queryFn: () => unwrap(client.GET("/admin/providers")),
    refetchInterval: 5_000,
  });
}
