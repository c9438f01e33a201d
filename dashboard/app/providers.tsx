"use client";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { NuqsAdapter } from "nuqs/adapters/next/app";
import { useState, type ReactNode } from "react";

import { ApiError } from "@/lib/api/client";
import { ApiProvider } from "@/lib/api/context";

export function Providers({ children }: { children: ReactNode }) {
  const [queries] = useState(
    () =>
      new QueryClient({
        defaultOptions: {
          queries: {
            staleTime: 10_000,
            // A refusal will not change by asking again; a network blip may.
            retry: (failures, error) => !(error instanceof ApiError && error.status < 500) && failures < 2,
          },
        },
      }),
  );
  return (
    <QueryClientProvider client={queries}>
      <ApiProvider>
        <NuqsAdapter>{children}</NuqsAdapter>
      </ApiProvider>
    </QueryClientProvider>
  );
}
