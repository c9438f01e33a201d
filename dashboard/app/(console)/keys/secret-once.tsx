"use client";
import { useState } from "react";

import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import type { IssuedKey } from "@/lib/api/keys";

/** A key's secret, shown this once: the gateway keeps only its hash. */
export function SecretOnce({ issued, onDone }: { issued: IssuedKey; onDone: () => void }) {
  const [copied, setCopied] = useState(false);
  async function copy() {
    await navigator.clipboard.writeText(issued.key);
    setCopied(true);
  }
  return (
    <Alert tone="success" className="flex flex-col gap-2">
      <p>
        The secret of <strong>{issued.name ?? issued.id}</strong> is shown once. Store it now: it cannot be shown
        again.
      </p>
      <code data-testid="issued-secret" className="break-all rounded bg-white px-2 py-1 font-mono text-sm">
        {issued.key}
      </code>
      <div className="flex gap-2">
        <Button size="sm" variant="outline" onClick={copy}>
          {copied ? "Copied" : "Copy"}
        </Button>
        <Button size="sm" onClick={onDone}>
          I have stored it
        </Button>
      </div>
    </Alert>
  );
}
