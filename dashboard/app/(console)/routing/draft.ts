/**
 * An edit of the managed config in progress: the text of each changed field, applied to a
 * copy of the newest document. Fields are addressed by section and name, not by dotted
 * path, because backend names may hold dots. The gateway validates the result again.
 */
import type { ConfigDocument } from "@/lib/api/config";

import type { Strategy } from "./strategies";

export type Section = "backend" | "fallbacks" | "auto_group" | "group" | "routing";

export interface Edit {
  section: Section;
  name: string; // backend, model or group name; "" for the routing section itself
  field: string; // e.g. weight, priority, default, strong, strategy; "" for a fallback chain
  text: string;
}

export type Edits = Record<string, Edit>;

export function editKey(section: Section, name: string, field = ""): string {
  return JSON.stringify([section, name, field]);
}

export function withEdit(edits: Edits, edit: Edit): Edits {
  return { ...edits, [editKey(edit.section, edit.name, edit.field)]: edit };
}

/** The names in a comma-separated list, trimmed, empties dropped. */
export function listOf(text: string): string[] {
  return text
    .split(",")
    .map((part) => part.trim())
    .filter(Boolean);
}

export interface Draft {
  document: ConfigDocument;
  problems: string[];
}

/** The document with every edit applied, and what could not be read (numbers, mostly). */
export function applyEdits(base: ConfigDocument, edits: Edits): Draft {
  const document = structuredClone(base);
  const problems: string[] = [];
  const routing = (document.routing ??= {});
  for (const edit of Object.values(edits)) {
    const text = edit.text.trim();
    if (edit.section === "backend") {
      const backend = document.backends.find((b) => b.name === edit.name);
      if (!backend) {
        problems.push(`backend ${edit.name}: no longer in the config`);
      } else if (edit.field === "weight") {
        const weight = Number(text);
        if (text === "" || !Number.isFinite(weight) || weight <= 0) {
          problems.push(`backend ${edit.name}: the weight must be a number above 0`);
        } else backend.weight = weight;
      } else if (edit.field === "priority") {
        const priority = Number(text);
        if (text === "" || !Number.isInteger(priority) || priority < 0) {
          problems.push(`backend ${edit.name}: the priority must be a whole number, 0 or more`);
        } else backend.priority = priority;
      }
    } else if (edit.section === "fallbacks") {
      const fallbacks = (routing.fallbacks ??= {});
      const chain = listOf(text);
      if (chain.length) fallbacks[edit.name] = chain;
      else delete fallbacks[edit.name];
    } else if (edit.section === "auto_group") {
      const group = (routing.auto_groups ??= {})[edit.name];
      if (!group) problems.push(`auto group ${edit.name}: no longer in the config`);
      else if (edit.field === "default") group.default = text;
      else if (edit.field === "strong") group.strong = text || null;
    } else if (edit.section === "group") {
      const groups = (routing.groups ??= {});
      groups[edit.name] = { ...groups[edit.name], strategy: (text || null) as Strategy | null };
    } else if (edit.section === "routing" && edit.field === "strategy") {
      routing.strategy = text as Strategy;
    }
  }
  return { document, problems };
}

/** A value in a diff or field, short: JSON for structures, "—" for nothing, cut at `max`. */
export function shown(value: unknown, max = Infinity): string {
  if (value === null || value === undefined) return "—";
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
