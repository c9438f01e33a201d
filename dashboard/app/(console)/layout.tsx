"use client";
import Link from "next/link";
import { usePathname, useRouter } from "next/navigation";
import { useEffect, type ReactNode } from "react";

import { Button } from "@/components/ui/button";
import { useLogout, useSession } from "@/lib/api/session";
import { can } from "@/lib/roles";
import { cn } from "@/lib/utils";

import { NAV } from "./nav";

/** The console: navigation for what the role may see; no session sends the browser to log in. */
export default function ConsoleLayout({ children }: { children: ReactNode }) {
  const router = useRouter();
  const pathname = usePathname();
  const session = useSession();
  const logout = useLogout();

  useEffect(() => {
    if (session.isFetched && !session.data) router.replace("/");
  }, [session.isFetched, session.data, router]);

  if (!session.data) return <p className="p-6 text-sm text-slate-600">Loading…</p>;
  const role = session.data.role;
  const items = NAV.filter((item) => !item.needsAdminRead || can(role, "read:admin"));

  return (
    <div className="flex min-h-screen">
      <nav aria-label="Main" className="w-52 shrink-0 border-r border-slate-200 bg-white p-4">
        <p className="mb-4 font-semibold">LLM gateway</p>
        <ul className="flex flex-col gap-1">
          {items.map((item) => (
            <li key={item.href}>
              <Link
                href={item.href}
                aria-current={isCurrent(pathname, item.href) ? "page" : undefined}
                className={cn(
                  "block rounded px-2 py-1 text-sm text-slate-800 hover:bg-slate-100",
                  isCurrent(pathname, item.href) && "bg-slate-900 text-white hover:bg-slate-800",
                )}
              >
                {item.label}
              </Link>
            </li>
          ))}
        </ul>
        <div className="mt-6 border-t border-slate-200 pt-4 text-xs text-slate-700">
          <p>
            Role: <strong data-testid="role">{role}</strong>
          </p>
          {session.data.key_id ? <p>Key: {session.data.key_id}</p> : null}
          <Button variant="outline" size="sm" className="mt-2" onClick={() => logout.mutate()}>
            Log out
          </Button>
        </div>
      </nav>
      <main className="min-w-0 flex-1 p-6">{children}</main>
    </div>
  );
}

function isCurrent(pathname: string | null, href: string): boolean {
  const trim = (path: string) => path.replace(/\/+$/, "");
  return pathname !== null && trim(pathname).startsWith(trim(href));
}
