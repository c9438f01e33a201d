"use client";
import { createColumnHelper, flexRender, getCoreRowModel, useReactTable } from "@tanstack/react-table";
import { useVirtualizer } from "@tanstack/react-virtual";
import { useEffect, useRef } from "react";

import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import type { LogEntry } from "@/lib/api/logs";
import { formatMs, formatTime, formatUsd } from "@/lib/format";
import { cn } from "@/lib/utils";

const ROW_HEIGHT = 36;
const column = createColumnHelper<LogEntry>();
const COLUMNS = [
  column.accessor("started_at", { header: "Started", cell: (c) => formatTime(c.getValue()), size: 170 }),
  column.accessor("status", {
    header: "Status",
    cell: (c) => <Badge tone={c.getValue() >= 400 ? "bad" : "good"}>{c.getValue()}</Badge>,
    size: 70,
  }),
  column.accessor((row) => row.model_routed ?? row.model_requested ?? "—", { id: "model", header: "Model", size: 150 }),
  column.accessor((row) => row.provider ?? "—", { id: "provider", header: "Provider", size: 100 }),
  column.accessor((row) => row.key_id ?? "—", { id: "key", header: "Key", size: 190 }),
  column.accessor((row) => row.prompt_tokens + row.completion_tokens, { id: "tokens", header: "Tokens", size: 70 }),
  column.accessor("cost_usd", { header: "Cost", cell: (c) => formatUsd(c.getValue()), size: 80 }),
  column.accessor("latency_ms", { header: "Latency", cell: (c) => formatMs(c.getValue()), size: 90 }),
  column.accessor((row) => (row.cache_hit ? "hit" : row.fallback_used ? "fallback" : ""), {
    id: "flags",
    header: "Cache / route",
    size: 100,
  }),
  column.accessor("request_id", { header: "Request id", cell: (c) => <span className="font-mono">{c.getValue()}</span>, size: 260 }),
];

interface Props {
  rows: LogEntry[];
  selected: string | null;
  onSelect: (requestId: string) => void;
  hasMore: boolean;
  loadingMore: boolean;
  onLoadMore: () => void;
  onRefresh: () => void;
}

/** The request log: only the rows in view are in the DOM, so 100k loaded rows stay fast. */
export function LogTable({ rows, selected, onSelect, hasMore, loadingMore, onLoadMore, onRefresh }: Props) {
  const table = useReactTable({ data: rows, columns: COLUMNS, getCoreRowModel: getCoreRowModel() });
  const scroller = useRef<HTMLDivElement>(null);
  const virtual = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 10,
    // Before layout (and in tests) the scroller has no size: render the first screenful.
    initialRect: { width: 1200, height: 600 },
  });
  const items = virtual.getVirtualItems();
  const last = items[items.length - 1];

  useEffect(() => {
    // Reaching the end of the loaded rows fetches the next page by its cursor.
    if (last && last.index >= rows.length - 5 && hasMore && !loadingMore) onLoadMore();
  }, [last, rows.length, hasMore, loadingMore, onLoadMore]);

  const width = table.getTotalSize();
  return (
    <div className="rounded-lg border border-slate-200 bg-white">
      <div className="flex items-center justify-between border-b border-slate-200 px-3 py-2 text-sm">
        <span>
          {rows.length} request{rows.length === 1 ? "" : "s"} loaded{hasMore ? " (more on scroll)" : ""}
        </span>
        <Button size="sm" variant="outline" onClick={onRefresh}>
          Refresh
        </Button>
      </div>
      <div ref={scroller} className="h-[560px] overflow-auto" tabIndex={0} aria-label="Request log rows">
        <div role="table" aria-label="Request log" aria-rowcount={rows.length + 1} style={{ width }}>
          <div role="rowgroup" className="sticky top-0 z-10 bg-slate-100">
            {table.getHeaderGroups().map((group) => (
              <div role="row" key={group.id} className="flex">
                {group.headers.map((header) => (
                  <div
                    role="columnheader"
                    key={header.id}
                    style={{ width: header.getSize() }}
                    className="shrink-0 px-2 py-2 text-left text-xs font-medium text-slate-700"
                  >
                    {flexRender(header.column.columnDef.header, header.getContext())}
                  </div>
                ))}
              </div>
            ))}
          </div>
          <div role="rowgroup" style={{ height: virtual.getTotalSize(), position: "relative" }}>
            {items.map((item) => {
              const row = table.getRowModel().rows[item.index];
              if (!row) return null;
              const id = row.original.request_id;
              return (
                <div
                  role="row"
                  key={row.id}
                  aria-rowindex={item.index + 2}
                  aria-selected={selected === id}
                  data-request-id={id}
                  tabIndex={0}
                  onClick={() => onSelect(id)}
                  onKeyDown={(event) => {
                    if (event.key === "Enter" || event.key === " ") onSelect(id);
                  }}
                  className={cn(
                    "absolute left-0 flex cursor-pointer items-center border-b border-slate-100 text-sm hover:bg-sky-50 focus:bg-sky-50 focus:outline-none",
                    selected === id && "bg-sky-100",
                  )}
                  style={{ top: item.start, height: ROW_HEIGHT, width }}
                >
                  {row.getVisibleCells().map((cell) => (
                    <div role="cell" key={cell.id} style={{ width: cell.column.getSize() }} className="shrink-0 truncate px-2">
                      {flexRender(cell.column.columnDef.cell, cell.getContext())}
                    </div>
                  ))}
                </div>
              );
            })}
          </div>
        </div>
        {!rows.length ? <p className="p-4 text-sm text-slate-600">No requests match these filters.</p> : null}
      </div>
    </div>
  );
}
