"use client";
import { useState } from "react";

import { useSession } from "@/lib/api/session";
import type { IssuedKey } from "@/lib/api/keys";
import { can } from "@/lib/roles";

import { CreateKeyForm } from "./create-key-form";
import { KeysTable } from "./keys-table";
import { SecretOnce } from "./secret-once";

export default function KeysPage() {
  const role = useSession().data?.role;
  const [issued, setIssued] = useState<IssuedKey | null>(null);
  const writable = can(role, "write:keys");
  return (
    <div className="flex flex-col gap-6">
      <h1 className="text-2xl font-semibold">Keys</h1>
      {issued ? <SecretOnce issued={issued} onDone={() => setIssued(null)} /> : null}
      {writable ? <CreateKeyForm onIssued={setIssued} /> : null}
      <KeysTable writable={writable} onIssued={setIssued} />
    </div>
  );
}
