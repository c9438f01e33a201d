"use client";
import { useRouter } from "next/navigation";
import { useEffect, useState, type FormEvent } from "react";

import { Alert } from "@/components/ui/alert";
import { Button, buttonVariants } from "@/components/ui/button";
import { Card } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Field } from "@/components/ui/label";
import { useLogin, useLoginMethods, useSession } from "@/lib/api/session";
import { cn } from "@/lib/utils";

/**
 * Log in: single sign-on when the gateway offers it; the master key, an admin token or a
 * virtual key, exchanged for a session cookie (always there: break-glass).
 */
export default function LoginPage() {
  const router = useRouter();
  const session = useSession();
  const login = useLogin();
  const sso = useLoginMethods().data?.sso;
  const [token, setToken] = useState("");

  useEffect(() => {
    if (session.data) router.replace("/overview/");
  }, [session.data, router]);

  function submit(event: FormEvent) {
    event.preventDefault();
    login.mutate(token, { onSuccess: () => router.replace("/overview/") });
  }

  return (
    <main className="flex min-h-screen items-center justify-center p-6">
      <Card className="w-full max-w-md">
        <h1 className="mb-1 text-xl font-semibold">LLM gateway</h1>
        <p className="mb-4 text-sm text-slate-600">
          Log in with the master key, an admin token (sk-gwadmin-…) or a virtual key (sk-gw-…).
        </p>
        {sso ? (
          <>
            {/* A navigation, not a fetch: the identity provider's pages take over the tab. */}
            <a
              href={sso.start}
              className={cn(buttonVariants({ size: "lg" }), "mb-3 w-full")}
            >
              {sso.label}
            </a>
            <p className="mb-3 text-center text-xs text-slate-500">or with a token</p>
          </>
        ) : null}
        <form onSubmit={submit} className="flex flex-col gap-3">
          <Field label="Token" htmlFor="token">
            <Input
              id="token"
              type="password"
              autoComplete="current-password"
              value={token}
              onChange={(event) => setToken(event.target.value)}
              required
            />
          </Field>
          {login.error ? <Alert tone="error">{login.error.message}</Alert> : null}
          <Button type="submit" disabled={login.isPending || !token}>
            {login.isPending ? "Logging in…" : "Log in"}
          </Button>
        </form>
      </Card>
    </main>
  );
}
