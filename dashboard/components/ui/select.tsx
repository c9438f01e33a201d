import * as React from "react";

import { cn } from "@/lib/utils";

/** A native select, styled: keyboard and screen readers work as the platform makes them. */
export function Select({ className, ...props }: React.SelectHTMLAttributes<HTMLSelectElement>) {
  return (
    <select
      className={cn(
        "h-9 rounded-md border border-slate-300 bg-white px-2 text-sm text-slate-900 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-sky-600",
        className,
      )}
      {...props}
    />
  );
}
