import { describe, expect, it } from "vitest";

import { diffLines, variablesOf, variablesTemplate } from "./mustache";

describe("variablesOf", () => {
  it("names each variable once, in first-use order, sections included", () => {
    const text = "Hi {{ name }}! {{#items}}- {{title}}{{/items}} {{{raw}}} again {{name}}";
    expect(variablesOf(text)).toEqual(["name", "items", "title", "raw"]);
  });

  it("leaves out partials, comments, the current item and closing tags", () => {
    expect(variablesOf("{{> footer}} {{! note }} {{#list}}{{.}}{{/list}} {{^empty}}x{{/empty}}")).toEqual([
      "list",
      "empty",
    ]);
  });

  it("takes a dotted name's first part: the object the request passes", () => {
    expect(variablesOf("{{user.name}} {{user.email}}")).toEqual(["user"]);
  });
});

describe("variablesTemplate", () => {
  it("gives every variable of every message as an empty string", () => {
    expect(JSON.parse(variablesTemplate(["{{a}}", "{{b}} {{a}}"]))).toEqual({ a: "", b: "" });
  });
});

describe("diffLines", () => {
  it("tells added, removed, hunk and context lines apart", () => {
    const diff = "--- p@1\n+++ p@2\n@@ -1,2 +1,2 @@\n [user]\n-Hello\n+Hi";
    expect(diffLines(diff).map((line) => line.kind)).toEqual(["hunk", "hunk", "hunk", "context", "removed", "added"]);
  });
});
