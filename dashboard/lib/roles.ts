/**
 * What each role may do, mirroring the gateway's checks so the UI hides what a role
 * cannot do. The API enforces the same rules whatever the UI shows.
 */
export type Role = "admin" | "developer" | "readonly" | "key";

export type Action =
  | "read:admin" // keys, teams, users, budgets, tokens, cache, providers
  | "write:keys"
  | "write:teams" // teams, users, budgets
  | "write:tokens"
  | "write:cache"
  | "write:config"
  | "write:prompts" // prompts and partials: versions, labels, experiments
  | "write:guardrails";

const RANK: Record<Role, number> = { key: -1, readonly: 0, developer: 1, admin: 2 };
const NEEDS: Record<Action, Role> = {
  "read:admin": "readonly",
  "write:keys": "developer",
  "write:teams": "admin",
  "write:tokens": "admin",
  "write:cache": "admin",
  "write:config": "admin",
  "write:prompts": "developer",
  "write:guardrails": "admin",
};

export function can(role: Role | null | undefined, action: Action): boolean {
  if (!role) return false;
  return RANK[role] >= RANK[NEEDS[action]];
}
