"use client";
/**
 * Prompt templates (`/admin/prompts`): list, create, add a version, move a label, the diff
 * of two versions, a dry-run render, and the traffic experiment with its results.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { unwrap, type Schemas } from "./client";
import { useApi } from "./context";

export type PromptSummary = Schemas["TemplateOut"];
export type PromptDetail = Schemas["TemplateDetail"];
export type PromptVersion = Schemas["llm_proxy__api__admin__prompts__VersionOut"];
export type Rendered = Schemas["Rendered"];
export type PromptMessage = Schemas["Message"];
const PROMPTS = ["prompts"] as const;

export interface VariantResult {
  variant: string;
  requests: number;
  errors: number;
  mean_latency_ms: number;
  tokens: number;
  cost_usd: number;
  feedback_count: number;
  feedback_mean: number | null;
}

export function usePrompts() {
  const { client } = useApi();
  return useQuery({
    queryKey: PROMPTS,
    queryFn: () => unwrap(client.GET("/admin/prompts", { params: { query: { limit: 200 } } })),
  });
}

export function usePrompt(name: string | null) {
  const { client } = useApi();
  return useQuery({
    queryKey: [...PROMPTS, name],
    enabled: name !== null,
    queryFn: () => unwrap(client.GET("/admin/prompts/{name}", { params: { path: { name: name ?? "" } } })),
  });
}

export function usePromptDiff(name: string, from: number, to: number) {
  const { client } = useApi();
  return useQuery({
    queryKey: [...PROMPTS, name, "diff", from, to],
    enabled: from !== to,
    queryFn: () =>
      unwrap(client.GET("/admin/prompts/{name}/diff", { params: { path: { name }, query: { from, to } } })),
  });
}

export function useExperimentResults(name: string, running: boolean) {
  const { client } = useApi();
  return useQuery({
    queryKey: [...PROMPTS, name, "results"],
    enabled: running,
    queryFn: async () => {
      const answer = await unwrap(
        client.GET("/admin/prompts/{name}/experiment/results", { params: { path: { name } } }),
      );
      return (answer as { variants: VariantResult[] }).variants;
    },
  });
}

/** Every write to a prompt invalidates what was read of prompts. */
function useWrite<A, T>(write: (client: ReturnType<typeof useApi>["client"], args: A) => Promise<T>) {
  const { client } = useApi();
  const queries = useQueryClient();
  return useMutation({
    mutationFn: (args: A) => write(client, args),
    onSuccess: () => queries.invalidateQueries({ queryKey: PROMPTS }),
  });
}

export function useCreatePrompt() {
  return useWrite((client, body: Schemas["Created"]) => unwrap(client.POST("/admin/prompts", { body })));
}

export function useAddVersion() {
  return useWrite((client, { name, body }: { name: string; body: Schemas["VersionFields"] }) =>
    unwrap(client.POST("/admin/prompts/{name}/versions", { params: { path: { name } }, body })),
  );
}

export function useMoveLabel() {
  return useWrite((client, { name, label, version }: { name: string; label: string; version: number }) =>
    unwrap(client.PUT("/admin/prompts/{name}/labels/{label}", { params: { path: { name, label } }, body: { version } })),
  );
}

export function useSetExperiment() {
  return useWrite((client, { name, body }: { name: string; body: Schemas["Experiment"] }) =>
    unwrap(client.PUT("/admin/prompts/{name}/experiment", { params: { path: { name } }, body })),
  );
}

export function useEndExperiment() {
  return useWrite((client, name: string) =>
    unwrap(client.DELETE("/admin/prompts/{name}/experiment", { params: { path: { name } } })),
  );
}

export function useRender() {
  const { client } = useApi();
  return useMutation({
    mutationFn: ({ name, body }: { name: string; body: Schemas["RenderRequest"] }) =>
      unwrap(client.POST("/admin/prompts/{name}/render", { params: { path: { name } }, body })),
  });
}
