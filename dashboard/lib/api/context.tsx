"use client";
/** The one API client of the page, created once and handed down by React context. */
import { createContext, useContext, useState, type ReactNode } from "react";

import { createApi, type ApiClient, type CsrfHolder } from "./client";

interface ApiContext {
  client: ApiClient;
  csrf: CsrfHolder;
}

const Context = createContext<ApiContext | null>(null);

export function ApiProvider({ children, value }: { children: ReactNode; value?: ApiContext }) {
  const [api] = useState<ApiContext>(() => {
    if (value) return value;
    const csrf: CsrfHolder = { token: null };
    return { client: createApi(csrf), csrf };
  });
  return <Context.Provider value={api}>{children}</Context.Provider>;
}

export function useApi(): ApiContext {
  const api = useContext(Context);
  if (!api) throw new Error("useApi outside ApiProvider");
  return api;
}
