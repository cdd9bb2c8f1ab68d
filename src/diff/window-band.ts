import { confidenceSequence } from '../verdict/confidence.js';
import type { OutcomeStats } from './outcomes.js';

/** One event-time window of a batch diff, with the mismatch-rate check over it and every earlier one. */
export interface BatchWindow {
  start: string;
  end: string;
  equal: number;
  different: number;
  missing: number;
  extra: number;
  mismatchRate: { sampled: number; mismatched: number; rate: number; lower: number; upper: number };
}

/**
 * The batch diff's windows, newest first as `/windows` answers them, records that differ only in
 * noise fields counted equal, each with the band point the service would have shown once it closed.
 */
export function windowBand(
  windows: ReadonlyMap<number, OutcomeStats>,
  windowMs: number,
  noise: ReadonlySet<string>,
  policy: { alpha: number; tolerance: number },
): BatchWindow[] {
  let sampled = 0;
  let mismatched = 0;
  const band = [...windows.entries()]
    .sort(([a], [b]) => a - b)
    .map(([w, stats]) => {
      const noiseOnly =
        noise.size === 0 ? 0 : stats.differingRows.filter((fields) => fields.every((f) => noise.has(f))).length;
      const different = stats.different - noiseOnly;
      sampled += stats.equal + stats.different + stats.missing + stats.extra;
      mismatched += different + stats.missing + stats.extra;
      return {
        start: new Date(w).toISOString(),
        end: new Date(w + windowMs).toISOString(),
        equal: stats.equal + noiseOnly,
        different,
        missing: stats.missing,
        extra: stats.extra,
        mismatchRate: {
          sampled,
          mismatched,
          rate: sampled === 0 ? 0 : mismatched / sampled,
          ...confidenceSequence(mismatched, sampled, policy.alpha, policy.tolerance),
        },
      };
    });
  return band.reverse();
}
