"use client";
import { createParser, parseAsStringLiteral, useQueryState } from "nuqs";

import { Field } from "@/components/ui/label";
import { Select } from "@/components/ui/select";

export const RANGES = ["24h", "7d", "30d"] as const;
export type Range = (typeof RANGES)[number];
const HOURS: Record<Range, number> = { "24h": 24, "7d": 24 * 7, "30d": 24 * 30 };

/** The range's [since, until) as ISO instants, on whole hours so buckets line up. */
export function rangeWindow(range: Range, now: Date): { since: string; until: string } {
  const until = new Date(now);
  until.setUTCMinutes(0, 0, 0);
  until.setUTCHours(until.getUTCHours() + 1);
  const since = new Date(until.getTime() - HOURS[range] * 3_600_000);
  return { since: since.toISOString(), until: until.toISOString() };
}

function browserZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

function validZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** `?tz=Europe/Berlin`; an unknown zone falls back to the browser's. */
export const timeZoneParser = createParser({
  parse: (value: string) => (validZone(value) ? value : null),
  serialize: (value: string) => value,
}).withDefault(browserZone());

const ZONES = ["UTC", "America/Los_Angeles", "America/New_York", "Europe/London", "Europe/Berlin", "Asia/Kolkata", "Asia/Tokyo", "Australia/Sydney"];

export function OverviewControls() {
  const [range, setRange] = useQueryState("range", parseAsStringLiteral(RANGES).withDefault("24h"));
  const [granularity, setGranularity] = useQueryState(
    "granularity",
    parseAsStringLiteral(["hour", "day"] as const).withDefault("hour"),
  );
  const [timeZone, setTimeZone] = useQueryState("tz", timeZoneParser);
  const zones = ZONES.includes(timeZone) ? ZONES : [timeZone, ...ZONES];
  return (
    <div className="flex flex-wrap gap-3">
      <Field label="Range" htmlFor="range">
        <Select id="range" value={range} onChange={(e) => void setRange(e.target.value as Range)}>
          <option value="24h">Last 24 hours</option>
          <option value="7d">Last 7 days</option>
          <option value="30d">Last 30 days</option>
        </Select>
      </Field>
      <Field label="Buckets" htmlFor="granularity">
        <Select id="granularity" value={granularity} onChange={(e) => void setGranularity(e.target.value as "hour" | "day")}>
          <option value="hour">Hours</option>
          <option value="day">Days</option>
        </Select>
      </Field>
      <Field label="Time zone" htmlFor="tz">
        <Select id="tz" value={timeZone} onChange={(e) => void setTimeZone(e.target.value)}>
          {zones.map((zone) => (
            <option key={zone} value={zone}>
              {zone}
            </option>
          ))}
        </Select>
      </Field>
    </div>
  );
}
