"use client";
/** The dashboard session: who is logged in (role, CSRF token), log in, log out. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { ApiError, unwrap, type Schemas } from "./client";
import { useApi } from "./context";

export type Session = Schemas["SessionOut"];
export type LoginMethods = Schemas["LoginMethods"];
export const SESSION_KEY = ["session"] as const;

export function useSession() {
  const { client, csrf } = useApi();
  return useQuery<Session | null>({
    queryKey: SESSION_KEY,
    queryFn: async () => {
      try {
        const session = await unwrap(client.GET("/admin/session"));
        csrf.token = session.csrf_token;
        return session;
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) return null;
        throw error;
      }
    },
    staleTime: 60_000,
    retry: false,
  });
}

/** How one may log in here: the token form always; single sign-on when configured. */
export function useLoginMethods() {
  const { client } = useApi();
  return useQuery<LoginMethods>({
    queryKey: ["login-methods"],
    queryFn: () => unwrap(client.GET("/admin/session/methods")),
    staleTime: Infinity,
    retry: false,
  });
}

export function useLogin() {
  const { client, csrf } = useApi();
  const queries = useQueryClient();
  return useMutation({
    mutationFn: (token: string) => unwrap(client.POST("/admin/session", { body: { token } })),
    onSuccess: (session) => {
      csrf.token = session.csrf_token;
      queries.clear();
      queries.setQueryData(SESSION_KEY, session);
    },
  });
}

export function useLogout() {
  const { client, csrf } = useApi();
  const queries = useQueryClient();
  return useMutation({
    mutationFn: () => unwrap(client.DELETE("/admin/session")),
    onSettled: () => {
      csrf.token = null;
      queries.clear();
      queries.setQueryData(SESSION_KEY, null);
    },
  });
}
