import type { ConfigDocument } from "@/lib/api/config";

export type Strategy = NonNullable<NonNullable<ConfigDocument["routing"]>["strategy"]>;

// A record over the generated type: a strategy the gateway adds fails the type check here.
export const STRATEGIES: Record<Strategy, string> = {
  weighted: "weighted: by backend weight",
  "round-robin": "round-robin",
  priority: "priority: lowest number first",
  "least-busy": "least-busy: fewest in flight",
  latency: "latency: fastest recently",
  usage: "usage: most headroom",
  session: "session: sticky per session",
  cost: "cost: cheapest first",
};
