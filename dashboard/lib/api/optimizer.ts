"use client";
/** The optimizer's approaches and caps (`/admin/optimizer`); its runs are in the logs. */
import { useQuery } from "@tanstack/react-query";

import { unwrap, type Schemas } from "./client";
import { useApi } from "./context";

export type OptimizerSettings = Schemas["OptimizerOut"];

export function useOptimizer() {
  const { client } = useApi();
  return useQuery({ queryKey: ["optimizer"], queryFn: () => unwrap(client.GET("/admin/optimizer")) });
}
