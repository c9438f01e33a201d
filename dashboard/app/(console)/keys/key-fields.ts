import type { NewKey } from "@/lib/api/keys";

/** The create-key form as typed: strings, as inputs hold them. */
export interface KeyDraft {
  name: string;
  team_id: string;
  budget_id: string;
  allowed_models: string;
  max_tokens_cap: string;
  rpm: string;
  tpm: string;
}

/** The request body for a draft: empty fields left out, lists split, numbers parsed. */
export function keyFields(draft: KeyDraft): NewKey {
  const body: NewKey = {};
  if (draft.name.trim()) body.name = draft.name.trim();
  if (draft.team_id) body.team_id = draft.team_id;
  if (draft.budget_id) body.budget_id = draft.budget_id;
  const models = draft.allowed_models
    .split(",")
    .map((model) => model.trim())
    .filter(Boolean);
  if (models.length) body.allowed_models = models;
  const numbers = { max_tokens_cap: draft.max_tokens_cap, rpm: draft.rpm, tpm: draft.tpm } as const;
  for (const [field, text] of Object.entries(numbers) as [keyof typeof numbers, string][]) {
    // Sent as typed: the gateway answers a clear 400 for anything that is not a positive integer.
    if (text.trim()) body[field] = Number(text.trim());
  }
  return body;
}
