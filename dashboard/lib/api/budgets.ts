"use client";
/** Budgets: list, create, delete. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { unwrap, type Schemas } from "./client";
import { useApi } from "./context";

export type Budget = Schemas["BudgetOut"];
const BUDGETS = ["budgets"] as const;

export function useBudgets() {
  const { client } = useApi();
  return useQuery({
    queryKey: BUDGETS,
    queryFn: () => unwrap(client.GET("/admin/budgets", { params: { query: { limit: 200 } } })),
  });
}

export function useCreateBudget() {
  const { client } = useApi();
  const queries = useQueryClient();
  return useMutation({
    mutationFn: (body: Schemas["BudgetIn"]) => unwrap(client.POST("/admin/budgets", { body })),
    onSuccess: () => queries.invalidateQueries({ queryKey: BUDGETS }),
  });
}

export function useDeleteBudget() {
  const { client } = useApi();
  const queries = useQueryClient();
  return useMutation({
    mutationFn: (id: string) =>
      unwrap(client.DELETE("/admin/budgets/{budget_id}", { params: { path: { budget_id: id } } })),
    onSuccess: () => queries.invalidateQueries({ queryKey: BUDGETS }),
  });
}
