"use client";
import { useState } from "react";

import { Alert } from "@/components/ui/alert";
import { Card, CardTitle } from "@/components/ui/card";
import { useConfig } from "@/lib/api/config";
import { useSession } from "@/lib/api/session";
import { can } from "@/lib/roles";

import { BackendsTable } from "./backends-table";
import { applyEdits, type Edits } from "./draft";
import { ReviewChanges } from "./review-changes";
import { RoutingTables } from "./routing-tables";
import { VersionHistory } from "./version-history";

export default function RoutingPage() {
  const config = useConfig();
  const role = useSession().data?.role;
  const [edits, setEdits] = useState<Edits>({});
  const current = config.data;
  const managed = current?.mode === "database";
  const writable = managed && can(role, "write:config");
  const draft = current ? applyEdits(current.document, edits) : null;

  return (
    <div className="flex flex-col gap-6">
      <h1 className="text-2xl font-semibold">Backends &amp; routing</h1>
      {config.error ? <Alert tone="error">{config.error.message}</Alert> : null}
      {current ? (
        <p className="text-sm text-slate-700" data-testid="config-version">
          {managed
            ? `Config version ${current.version} by ${current.author ?? "—"}; this replica runs version ${current.applied_version ?? "—"}.`
            : "config.mode is file: gateway.yaml is the source of truth here; change it there and reload."}
        </p>
      ) : null}
      {current && draft ? (
        <>
          <Card>
            <CardTitle>Backends</CardTitle>
            <BackendsTable draft={draft.document} edits={edits} writable={writable} onEdit={setEdits} />
          </Card>
          <RoutingTables draft={draft.document} edits={edits} writable={writable} onEdit={setEdits} />
          {writable && current.version !== null ? (
            <ReviewChanges
              draft={draft}
              version={current.version}
              dirty={Object.keys(edits).length > 0}
              onDone={() => setEdits({})}
            />
          ) : null}
        </>
      ) : null}
      {managed ? <VersionHistory writable={writable} onRolledBack={() => setEdits({})} /> : null}
    </div>
  );
}
