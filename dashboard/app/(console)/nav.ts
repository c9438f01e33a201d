/** The console's pages, in the order of the navigation. */
export interface NavItem {
  href: string;
  label: string;
  // Hidden from a virtual key's session, which sees only its own usage and logs.
  needsAdminRead: boolean;
}

export const NAV: NavItem[] = [
  { href: "/overview/", label: "Overview", needsAdminRead: false },
  { href: "/logs/", label: "Logs", needsAdminRead: false },
  { href: "/sessions/", label: "Sessions", needsAdminRead: true },
  { href: "/providers/", label: "Providers", needsAdminRead: true },
  { href: "/routing/", label: "Backends & routing", needsAdminRead: true },
  { href: "/keys/", label: "Keys", needsAdminRead: true },
  { href: "/teams/", label: "Teams, users, budgets", needsAdminRead: true },
  { href: "/prompts/", label: "Prompts", needsAdminRead: true },
  { href: "/guardrails/", label: "Guardrails", needsAdminRead: true },
  { href: "/cache/", label: "Cache", needsAdminRead: true },
  { href: "/optimizer/", label: "Optimizer", needsAdminRead: true },
  { href: "/settings/", label: "Settings", needsAdminRead: true },
];
