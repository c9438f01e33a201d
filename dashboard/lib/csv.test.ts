import { describe, expect, it } from "vitest";

import { toCsv } from "./csv";

describe("toCsv", () => {
  it("quotes fields with commas, quotes and line breaks", () => {
    const csv = toCsv([{ a: 'say "hi", then\nleave', b: 3 }], ["a", "b"]);
    expect(csv).toBe('a,b\r\n"say ""hi"", then\nleave",3\r\n');
  });

  it("leaves null and undefined empty and defuses spreadsheet formulas", () => {
    const csv = toCsv([{ a: null, b: undefined, c: "=HYPERLINK(1)", d: -4 }], ["a", "b", "c", "d"]);
    expect(csv).toBe("a,b,c,d\r\n,,'=HYPERLINK(1),-4\r\n");
  });
});
