"use client";
import { useSession } from "@/lib/api/session";
import { can } from "@/lib/roles";

import { BudgetsSection } from "./budgets-section";
import { TeamsSection } from "./teams-section";
import { UsersSection } from "./users-section";

export default function TeamsPage() {
  const writable = can(useSession().data?.role, "write:teams");
  return (
    <div className="flex flex-col gap-6">
      <h1 className="text-2xl font-semibold">Teams, users, budgets</h1>
      <TeamsSection writable={writable} />
      <UsersSection writable={writable} />
      <BudgetsSection writable={writable} />
    </div>
  );
}
