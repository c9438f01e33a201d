"use client";
import { Field } from "@/components/ui/label";
import { Select } from "@/components/ui/select";
import type { PromptDetail } from "@/lib/api/prompts";

interface Props {
  prompt: PromptDetail;
  id: string;
  label: string;
  value: number;
  onChange: (version: number) => void;
  className?: string;
}

/** A labelled choice of one of the prompt's versions. */
export function VersionSelect({ prompt, id, label, value, onChange, className }: Props) {
  return (
    <Field label={label} htmlFor={id}>
      <Select id={id} value={value} onChange={(e) => onChange(Number(e.target.value))} className={className}>
        {prompt.versions.map((v) => (
          <option key={v.version} value={v.version}>
            v{v.version}
          </option>
        ))}
      </Select>
    </Field>
  );
}
