"use client";
/**
 * A CodeMirror 6 editor for one Mustache template: its tags highlighted, undo history,
 * line wrapping. Controlled: a value changed from outside (another version chosen)
 * replaces the document; typing reports every change.
 */
import { defaultKeymap, history, historyKeymap } from "@codemirror/commands";
import { EditorState } from "@codemirror/state";
import {
  Decoration,
  EditorView,
  MatchDecorator,
  ViewPlugin,
  keymap,
  type DecorationSet,
  type ViewUpdate,
} from "@codemirror/view";
import { useEffect, useRef } from "react";

import { TAG } from "./mustache";

const tags = new MatchDecorator({ regexp: TAG, decoration: Decoration.mark({ class: "cm-mustache" }) });

const mustache = ViewPlugin.fromClass(
  class {
    decorations: DecorationSet;
    constructor(view: EditorView) {
      this.decorations = tags.createDeco(view);
    }
    update(update: ViewUpdate) {
      this.decorations = tags.updateDeco(update, this.decorations);
    }
  },
  { decorations: (plugin) => plugin.decorations },
);

const theme = EditorView.theme({
  "&": { border: "1px solid rgb(203 213 225)", borderRadius: "0.375rem", backgroundColor: "white" },
  "&.cm-focused": { outline: "2px solid rgb(2 132 199)" },
  ".cm-content": { fontFamily: "ui-monospace, monospace", fontSize: "0.875rem", minHeight: "4rem", color: "rgb(15 23 42)" },
  ".cm-mustache": { color: "rgb(126 34 206)", fontWeight: "600" },
});

interface Props {
  value: string;
  onChange?: (value: string) => void;
  label: string;
  readOnly?: boolean;
}

export function TemplateEditor({ value, onChange, label, readOnly = false }: Props) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const changed = useRef(onChange);
  changed.current = onChange;

  useEffect(() => {
    if (!host.current) return;
    const editor = new EditorView({
      parent: host.current,
      state: EditorState.create({
        doc: value,
        extensions: [
          history(),
          keymap.of([...defaultKeymap, ...historyKeymap]),
          EditorView.lineWrapping,
          EditorState.readOnly.of(readOnly),
          EditorView.editable.of(!readOnly),
          EditorView.contentAttributes.of({ "aria-label": label, "aria-multiline": "true", role: "textbox" }),
          mustache,
          theme,
          EditorView.updateListener.of((update) => {
            if (update.docChanged) changed.current?.(update.state.doc.toString());
          }),
        ],
      }),
    });
    view.current = editor;
    return () => {
      editor.destroy();
      view.current = null;
    };
    // The editor is made once per label and mode; the value follows in the effect below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [label, readOnly]);

  useEffect(() => {
    const editor = view.current;
    if (editor && editor.state.doc.toString() !== value) {
      editor.dispatch({ changes: { from: 0, to: editor.state.doc.length, insert: value } });
    }
  }, [value]);

  return <div ref={host} data-testid="template-editor" />;
}
