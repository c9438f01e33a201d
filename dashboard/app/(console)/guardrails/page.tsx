"use client";
import { useSession } from "@/lib/api/session";
import { can } from "@/lib/roles";

import { GuardrailHits } from "./guardrail-hits";
import { PolicyForm } from "./policy-form";
import { PolicyTable } from "./policy-table";

export default function GuardrailsPage() {
  const writable = can(useSession().data?.role, "write:guardrails");
  return (
    <div className="flex flex-col gap-4">
      <h1 className="text-2xl font-semibold">Guardrails</h1>
      <PolicyTable writable={writable} />
      {writable ? <PolicyForm /> : null}
      <GuardrailHits />
    </div>
  );
}
