/** Optimizer runs, gathered from logged sub-calls: each names its run's parent request. */
import type { LogEntry } from "@/lib/api/logs";

export interface Run {
  parent: string;
  calls: number;
  tokens: number;
  costUsd: number;
  models: string[];
  lastAt: string;
}

/** The runs whose sub-calls are among `rows`, the most recent first. */
export function runsOf(rows: LogEntry[]): Run[] {
  const runs = new Map<string, Run>();
  for (const row of rows) {
    const parent = row.parent_request_id;
    if (!parent) continue;
    const run = runs.get(parent) ?? { parent, calls: 0, tokens: 0, costUsd: 0, models: [], lastAt: row.started_at };
    run.calls += 1;
    run.tokens += row.prompt_tokens + row.completion_tokens;
    run.costUsd += row.cost_usd;
    const model = row.model_routed ?? row.model_requested;
    if (model && !run.models.includes(model)) run.models.push(model);
    if (row.started_at > run.lastAt) run.lastAt = row.started_at;
    runs.set(parent, run);
  }
  return [...runs.values()].sort((a, b) => (a.lastAt < b.lastAt ? 1 : -1));
}
