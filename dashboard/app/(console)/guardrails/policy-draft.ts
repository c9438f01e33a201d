/** The policy form's fields, turned into the policy the gateway takes. */
import type { Checks, Policy } from "@/lib/api/guardrails";

export const CHECK_KINDS = ["deny_list", "pii", "secrets", "injection", "unicode"] as const;
export type CheckKind = (typeof CHECK_KINDS)[number];

export interface PolicyDraft {
  name: string;
  kind: CheckKind;
  action: "block" | "redact" | "alert";
  words: string;
  onRequest: boolean;
  onResponse: boolean;
}

export function policyOf(draft: PolicyDraft): Policy {
  const on = [...(draft.onRequest ? ["request" as const] : []), ...(draft.onResponse ? ["response" as const] : [])];
  return { name: draft.name.trim(), on, checks: checksOf(draft) };
}

function checksOf(draft: PolicyDraft): Checks {
  const verdict = draft.action === "redact" ? "block" : draft.action;
  switch (draft.kind) {
    case "deny_list": {
      const words = draft.words.split(",").map((w) => w.trim()).filter(Boolean);
      return { deny_list: { words, action: draft.action } };
    }
    case "pii":
      return { pii: { action: draft.action } };
    case "secrets":
      return { secrets: { action: draft.action } };
    case "unicode":
      return { unicode: { action: draft.action } };
    case "injection":
      // The injection check blocks or alerts; it has nothing to redact.
      return { injection: { action: verdict } };
  }
}

/** "deny_list: block" for each check a policy runs. */
export function describeChecks(checks: Checks): string[] {
  return Object.entries(checks)
    .filter(([, check]) => check)
    .map(([kind, check]) => `${kind}: ${(check as { action?: string }).action ?? "default"}`);
}
