/**
 * A request's stage timings laid end to end: each stage starts where the one before it
 * ended, as the pipeline runs them in order. Widths are shares of the summed time.
 */
export interface Bar {
  stage: string;
  ms: number;
  offsetPct: number;
  widthPct: number;
}

export function waterfall(timings: Record<string, unknown>): Bar[] {
  const stages = Object.entries(timings).filter(
    (entry): entry is [string, number] => typeof entry[1] === "number" && Number.isFinite(entry[1]) && entry[1] >= 0,
  );
  const total = stages.reduce((sum, [, ms]) => sum + ms, 0);
  let elapsed = 0;
  return stages.map(([stage, ms]) => {
    const bar = {
      stage,
      ms,
      offsetPct: total ? (elapsed / total) * 100 : 0,
      widthPct: total ? (ms / total) * 100 : 0,
    };
    elapsed += ms;
    return bar;
  });
}
