import { describe, expect, it } from "vitest";

import type { ConfigDocument } from "@/lib/api/config";

import { applyEdits, editKey, listOf, shown, withEdit, type Edits } from "./draft";

const BASE = {
  backends: [
    { name: "mini", provider: "simulator", model: "gpt-4o-mini", weight: 1, priority: 0 },
    { name: "big.eu", provider: "simulator", model: "gpt-4o", weight: 2, priority: 1 },
  ],
  routing: {
    strategy: "weighted",
    fallbacks: { "gpt-4o": ["gpt-4o-mini"] },
    auto_groups: { auto: { default: "gpt-4o-mini", strong: "gpt-4o" } },
    groups: {},
  },
} as unknown as ConfigDocument;

function edited(...list: Parameters<typeof withEdit>[1][]): Edits {
  return list.reduce<Edits>((edits, edit) => withEdit(edits, edit), {});
}

describe("applyEdits", () => {
  it("changes the named backend's weight and priority (names with dots too), leaving the base alone", () => {
    const { document, problems } = applyEdits(
      BASE,
      edited(
        { section: "backend", name: "big.eu", field: "weight", text: " 3.5 " },
        { section: "backend", name: "mini", field: "priority", text: "2" },
      ),
    );
    expect(problems).toEqual([]);
    expect(document.backends.map((b) => [b.name, b.weight, b.priority])).toEqual([
      ["mini", 1, 2],
      ["big.eu", 3.5, 1],
    ]);
    expect(BASE.backends[1]?.weight).toBe(2);
  });

  it("reports numbers it cannot read instead of sending them", () => {
    const { document, problems } = applyEdits(
      BASE,
      edited(
        { section: "backend", name: "mini", field: "weight", text: "0" },
        { section: "backend", name: "mini", field: "priority", text: "1.5" },
        { section: "backend", name: "gone", field: "weight", text: "1" },
      ),
    );
    expect(problems).toEqual([
      "backend mini: the weight must be a number above 0",
      "backend mini: the priority must be a whole number, 0 or more",
      "backend gone: no longer in the config",
    ]);
    expect(document.backends[0]?.weight).toBe(1);
  });

  it("sets, adds and removes fallback chains, auto-group models and strategies", () => {
    const { document } = applyEdits(
      BASE,
      edited(
        { section: "fallbacks", name: "gpt-4o", field: "", text: " " },
        { section: "fallbacks", name: "claude", field: "", text: "gpt-4o, gpt-4o-mini" },
        { section: "auto_group", name: "auto", field: "strong", text: "" },
        { section: "group", name: "gpt-4o", field: "strategy", text: "latency" },
        { section: "routing", name: "", field: "strategy", text: "priority" },
      ),
    );
    expect(document.routing?.fallbacks).toEqual({ claude: ["gpt-4o", "gpt-4o-mini"] });
    expect(document.routing?.auto_groups?.auto).toEqual({ default: "gpt-4o-mini", strong: null });
    expect(document.routing?.groups).toEqual({ "gpt-4o": { strategy: "latency" } });
    expect(document.routing?.strategy).toBe("priority");
  });

  it("keeps one edit per field: the latest text wins", () => {
    const edits = edited(
      { section: "backend", name: "mini", field: "weight", text: "2" },
      { section: "backend", name: "mini", field: "weight", text: "4" },
    );
    expect(Object.keys(edits)).toEqual([editKey("backend", "mini", "weight")]);
    expect(applyEdits(BASE, edits).document.backends[0]?.weight).toBe(4);
  });
});

describe("listOf and shown", () => {
  it("splits comma lists and shows values briefly", () => {
    expect(listOf(" a, ,b ,")).toEqual(["a", "b"]);
    expect(shown(null)).toBe("—");
    expect(shown("x")).toBe("x");
    expect(shown({ a: [1] })).toBe('{"a":[1]}');
    expect(shown("abcdef", 3)).toBe("abc…");
  });
});
