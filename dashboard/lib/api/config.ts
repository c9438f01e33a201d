"use client";
/**
 * The managed config (`/admin/config`): the newest version, a preview of a change (its
 * diff, validated as a write is), applying it (`If-Match` on the version read, so a change
 * made meanwhile is refused, 412), the version history and rollback.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { unwrap } from "./client";
import { useApi } from "./context";
import type { paths } from "./schema";

type Json<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends {
  responses: { 200: { content: { "application/json": infer T } } };
}
  ? T
  : never;

export type ConfigOut = Json<"/admin/config", "get">;
export type ConfigDocument = ConfigOut["document"];
export type Preview = Json<"/admin/config/preview", "post">;
export type Change = Preview["diff"][number];
export type VersionSummary = Json<"/admin/config/versions", "get">["data"][number];

const CONFIG = ["config"] as const;

export function useConfig() {
  const { client } = useApi();
  return useQuery({ queryKey: [...CONFIG, "current"], queryFn: () => unwrap(client.GET("/admin/config")) });
}

export function useVersions() {
  const { client } = useApi();
  return useQuery({
    queryKey: [...CONFIG, "versions"],
    queryFn: () => unwrap(client.GET("/admin/config/versions", { params: { query: { limit: 50 } } })),
  });
}

export function usePreview() {
  const { client } = useApi();
  return useMutation({
    mutationFn: (document: ConfigDocument) =>
      unwrap(client.POST("/admin/config/preview", { body: { document, comment: "" } })),
  });
}

export function useApplyConfig() {
  const { client } = useApi();
  const queries = useQueryClient();
  return useMutation({
    mutationFn: ({ document, comment, version }: { document: ConfigDocument; comment: string; version: number }) =>
      unwrap(
        client.PUT("/admin/config", {
          body: { document, comment },
          params: { header: { "if-match": `"${version}"` } },
        }),
      ),
    onSettled: () => queries.invalidateQueries({ queryKey: CONFIG }),
  });
}

export function useRollback() {
  const { client } = useApi();
  const queries = useQueryClient();
  return useMutation({
    mutationFn: ({ to, newest }: { to: number; newest: number }) =>
      unwrap(
        client.POST("/admin/config/rollback", {
          body: { version: to, comment: "" },
          params: { header: { "if-match": `"${newest}"` } },
        }),
      ),
    onSettled: () => queries.invalidateQueries({ queryKey: CONFIG }),
  });
}
