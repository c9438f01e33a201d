"use client";
/** The newest request-log pages, for pages that read something out of recent traffic. */
import { useMemo } from "react";

import { Button } from "@/components/ui/button";
import { useLogs, type LogEntry } from "@/lib/api/logs";

export function useRecentLogs() {
  const logs = useLogs({});
  const rows: LogEntry[] = useMemo(() => logs.data?.pages.flatMap((page) => page.data) ?? [], [logs.data]);
  return { logs, rows };
}

/** Read the newest page again, or one more page of older requests. */
export function RecentLogsControls({ logs, what }: { logs: ReturnType<typeof useLogs>; what: string }) {
  return (
    <div className="mt-2 flex gap-2">
      <Button size="sm" variant="outline" onClick={() => void logs.refetch()}>
        Refresh {what}
      </Button>
      {logs.hasNextPage ? (
        <Button size="sm" variant="outline" onClick={() => void logs.fetchNextPage()} disabled={logs.isFetchingNextPage}>
          Look at older requests
        </Button>
      ) : null}
    </div>
  );
}
