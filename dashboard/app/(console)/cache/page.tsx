"use client";
import { useState } from "react";

import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Card, CardTitle, Stat } from "@/components/ui/card";
import { Field } from "@/components/ui/label";
import { Select } from "@/components/ui/select";
import { useCacheStats, useClearCache } from "@/lib/api/cache";
import { useSession } from "@/lib/api/session";
import { formatInt, formatPct, formatUsd } from "@/lib/format";
import { can } from "@/lib/roles";

export default function CachePage() {
  const stats = useCacheStats();
  const clear = useClearCache();
  const writable = can(useSession().data?.role, "write:cache");
  const [olderThan, setOlderThan] = useState("");
  const s = stats.data;
  return (
    <div className="flex flex-col gap-4">
      <h1 className="text-2xl font-semibold">Cache</h1>
      {stats.error ? <Alert tone="error">{stats.error.message}</Alert> : null}
      {s ? (
        <>
          <p className="text-sm text-slate-700">
            {s.enabled ? "Enabled" : "Disabled"} · store: {s.backend} · semantic:{" "}
            {s.semantic.enabled ? `on (${s.semantic.embedder ?? "no embedder"})` : "off"}
          </p>
          <div className="grid grid-cols-2 gap-3 md:grid-cols-4">
            <Stat label="Entries" value={formatInt(s.entries)} />
            <Stat label="Size" value={`${(s.bytes / 1_048_576).toFixed(1)} MiB`} />
            <Stat label="Hit rate" value={formatPct(s.hit_rate)} />
            <Stat label="Saved" value={formatUsd(s.saved_usd)} />
            <Stat label="Exact hits" value={formatInt(s.hits_exact)} />
            <Stat label="Semantic hits" value={formatInt(s.hits_semantic)} />
            <Stat label="Misses" value={formatInt(s.misses)} />
            <Stat label="Bypassed" value={formatInt(s.bypassed)} />
          </div>
        </>
      ) : null}
      {writable ? (
        <Card>
          <CardTitle>Clear</CardTitle>
          <div className="flex flex-wrap items-end gap-3">
            <Field label="Entries written" htmlFor="older-than">
              <Select id="older-than" value={olderThan} onChange={(e) => setOlderThan(e.target.value)}>
                <option value="">at any time</option>
                <option value="1h">more than an hour ago</option>
                <option value="1d">more than a day ago</option>
              </Select>
            </Field>
            <Button variant="destructive" onClick={() => clear.mutate(olderThan || null)} disabled={clear.isPending}>
              Clear every team&apos;s entries
            </Button>
          </div>
          {clear.data ? (
            <Alert tone="success" className="mt-3">
              {clear.data.entries_deleted} entries deleted.
            </Alert>
          ) : null}
          {clear.error ? (
            <Alert tone="error" className="mt-3">
              {clear.error.message}
            </Alert>
          ) : null}
        </Card>
      ) : null}
    </div>
  );
}
