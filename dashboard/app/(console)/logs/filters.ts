import { parseAsString, parseAsStringLiteral } from "nuqs";

import type { LogFilters } from "@/lib/api/logs";

/** Every filter of `/admin/logs`, held in the page's URL so a view can be shared. */
export const FILTER_PARSERS = {
  since: parseAsString,
  until: parseAsString,
  team_id: parseAsString,
  key_id: parseAsString,
  user_id: parseAsString,
  model: parseAsString,
  provider: parseAsString,
  status: parseAsString,
  cache: parseAsStringLiteral(["hit", "miss"] as const),
  route: parseAsStringLiteral(["auto", "fallback", "direct"] as const),
  order: parseAsStringLiteral(["desc", "asc"] as const),
};

export type FilterState = { [K in keyof typeof FILTER_PARSERS]: LogFilters[K] | null };

/** The URL's filters as query parameters: empty ones left out, local times made UTC. */
export function toQuery(state: FilterState): LogFilters {
  const query: LogFilters = {};
  for (const [name, value] of Object.entries(state) as [keyof LogFilters, string | null][]) {
    if (value === null || value === "") continue;
    if (name === "since" || name === "until") {
      const moment = new Date(value);
      if (!Number.isNaN(moment.getTime())) query[name] = moment.toISOString();
      continue;
    }
    (query as Record<string, string>)[name] = value;
  }
  return query;
}
