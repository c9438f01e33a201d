"use client";
import { useMemo, useState } from "react";

import { useTimeseries } from "@/lib/api/usage";

/** Each team's spend today and this month (UTC calendar windows, as budgets count them). */
export function useTeamSpend(): Map<string, { today: number; month: number }> {
  const [now] = useState(() => new Date());
  const month = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  const until = new Date(today + 86_400_000);
  const series = useTimeseries({
    since: month.toISOString(),
    until: until.toISOString(),
    interval: "1d",
    group_by: "team",
  });
  return useMemo(() => {
    const spend = new Map<string, { today: number; month: number }>();
    for (const point of series.data?.data ?? []) {
      if (!point.group) continue;
      const entry = spend.get(point.group) ?? { today: 0, month: 0 };
      entry.month += point.cost_usd;
      if (new Date(point.start).getTime() >= today) entry.today += point.cost_usd;
      spend.set(point.group, entry);
    }
    return spend;
  }, [series.data, today]);
}
