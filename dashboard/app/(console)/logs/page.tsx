"use client";
import { parseAsString, useQueryState, useQueryStates } from "nuqs";
import { useMemo } from "react";

import { Alert } from "@/components/ui/alert";
import { useLogs } from "@/lib/api/logs";

import { FILTER_PARSERS, toQuery } from "./filters";
import { LogDetailPanel } from "./log-detail";
import { LogFilterBar } from "./log-filter-bar";
import { LogTable } from "./log-table";

export default function LogsPage() {
  const [state] = useQueryStates(FILTER_PARSERS);
  const [selected, setSelected] = useQueryState("request", parseAsString);
  const query = useMemo(() => toQuery(state), [state]);
  const logs = useLogs(query);
  const rows = useMemo(() => logs.data?.pages.flatMap((page) => page.data) ?? [], [logs.data]);

  return (
    <div className="flex flex-col gap-4">
      <h1 className="text-2xl font-semibold">Logs</h1>
      <LogFilterBar />
      {logs.error ? <Alert tone="error">{logs.error.message}</Alert> : null}
      <div className="flex flex-col gap-4 2xl:flex-row">
        <div className="min-w-0 flex-1">
          <LogTable
            rows={rows}
            selected={selected}
            onSelect={(id) => void setSelected(id)}
            hasMore={logs.hasNextPage}
            loadingMore={logs.isFetchingNextPage}
            onLoadMore={() => void logs.fetchNextPage()}
            onRefresh={() => void logs.refetch()}
          />
        </div>
        {selected ? <LogDetailPanel requestId={selected} onClose={() => void setSelected(null)} /> : null}
      </div>
    </div>
  );
}
