"use client";
import { useState } from "react";

import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Card, CardTitle } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Field } from "@/components/ui/label";
import { useApplyConfig, usePreview, type Preview } from "@/lib/api/config";

import { DiffTable } from "./diff-table";
import type { Draft } from "./draft";

interface Props {
  draft: Draft;
  version: number;
  dirty: boolean;
  onDone: () => void;
}

/**
 * Review, then apply: the gateway validates the draft and says what would change (the
 * same diff the history keeps); applying writes it as the next version, refused if the
 * config moved on since the version this page read.
 */
export function ReviewChanges({ draft, version, dirty, onDone }: Props) {
  const preview = usePreview();
  const apply = useApplyConfig();
  const [reviewed, setReviewed] = useState<Preview | null>(null);
  const [comment, setComment] = useState("");
  const failure = preview.error ?? apply.error;

  function review() {
    apply.reset();
    preview.mutate(draft.document, { onSuccess: setReviewed });
  }

  function confirm() {
    apply.mutate(
      { document: draft.document, comment, version },
      {
        onSuccess: () => {
          setReviewed(null);
          setComment("");
          onDone();
        },
      },
    );
  }

  function discard() {
    setReviewed(null);
    preview.reset();
    onDone();
  }

  return (
    <Card>
      <CardTitle>Changes</CardTitle>
      {draft.problems.map((problem) => (
        <Alert key={problem} tone="error" className="mb-2">
          {problem}
        </Alert>
      ))}
      {failure ? (
        <Alert tone="error" className="mb-2 whitespace-pre-line">
          {failure.message}
        </Alert>
      ) : null}
      {apply.isSuccess ? <Alert tone="success">Applied as version {apply.data.version}.</Alert> : null}
      {reviewed ? (
        <div className="flex flex-col gap-3">
          <p className="text-sm">Against version {reviewed.version}, this would change:</p>
          <DiffTable changes={reviewed.diff} label="Pending changes" />
          <Field label="Comment" htmlFor="config-comment">
            <Input id="config-comment" value={comment} maxLength={1000} onChange={(e) => setComment(e.target.value)} />
          </Field>
          <div className="flex gap-2">
            <Button onClick={confirm} disabled={apply.isPending || !reviewed.diff.length}>
              Apply
            </Button>
            <Button variant="outline" onClick={() => setReviewed(null)}>
              Keep editing
            </Button>
          </div>
        </div>
      ) : (
        <div className="flex gap-2">
          <Button onClick={review} disabled={!dirty || draft.problems.length > 0 || preview.isPending}>
            Review changes
          </Button>
          <Button variant="outline" onClick={discard} disabled={!dirty}>
            Discard
          </Button>
        </div>
      )}
    </Card>
  );
}
