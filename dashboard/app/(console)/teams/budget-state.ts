import type { Budget } from "@/lib/api/budgets";

export type AlertState = "ok" | "warning" | "exceeded" | "none";

/** A budget's alert state for the spend so far: at 80 % a warning, at 100 % exceeded. */
export function budgetState(
  budget: Budget | undefined,
  spentToday: number,
  spentThisMonth: number,
): { state: AlertState; share: number | null } {
  if (!budget) return { state: "none", share: null };
  const shares = [
    budget.usd_daily ? spentToday / budget.usd_daily : null,
    budget.usd_monthly ? spentThisMonth / budget.usd_monthly : null,
  ].filter((share): share is number => share !== null);
  if (!shares.length) return { state: "none", share: null };
  const share = Math.max(...shares);
  const thresholds = budget.alert_thresholds.length ? budget.alert_thresholds : [0.8, 1.0];
  const top = Math.max(...thresholds);
  const warn = Math.min(...thresholds);
  if (share >= top) return { state: "exceeded", share };
  if (share >= warn) return { state: "warning", share };
  return { state: "ok", share };
}
