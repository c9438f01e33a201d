/**
 * What the prompt editor knows of Mustache: where its tags are (highlighted in the editor)
 * and which variables a template names (offered to the test render as a starting point).
 */

// {{name}}, {{{raw}}}, {{#section}}, {{/section}}, {{^inverted}}, {{>partial}}, {{! comment }}
export const TAG = /\{\{\{?\s*[#^/>!&]?\s*[^{}]*?\s*\}?\}\}/g;

const SIGIL = /^\{\{\{?\s*([#^/>!&]?)\s*([^{}]*?)\s*\}?\}\}$/;

/** The variables a template reads, in first-use order: partials and comments are not ones. */
export function variablesOf(text: string): string[] {
  const names = new Set<string>();
  for (const match of text.matchAll(TAG)) {
    const parts = SIGIL.exec(match[0]);
    if (!parts) continue;
    const [, sigil, name] = parts;
    if (sigil === ">" || sigil === "!" || sigil === "/" || !name || name === ".") continue;
    names.add(name.split(".")[0] ?? name);
  }
  return [...names];
}

/** A starting variables object for the test render: every variable, as an empty string. */
export function variablesTemplate(texts: string[]): string {
  const names = [...new Set(texts.flatMap(variablesOf))];
  return JSON.stringify(Object.fromEntries(names.map((name) => [name, ""])), null, 2);
}

/** A unified diff's lines, each with what it is: drawn added, removed or as context. */
export function diffLines(diff: string): { text: string; kind: "added" | "removed" | "hunk" | "context" }[] {
  return diff
    .split("\n")
    .filter((line) => line !== "")
    .map((text) => {
      if (text.startsWith("+++") || text.startsWith("---") || text.startsWith("@@")) return { text, kind: "hunk" };
      if (text.startsWith("+")) return { text, kind: "added" };
      if (text.startsWith("-")) return { text, kind: "removed" };
      return { text, kind: "context" };
    });
}
