import { describe, expect, it } from 'vitest';
import type { OutcomeStats } from '../../src/diff/outcomes.js';
import { windowBand } from '../../src/diff/window-band.js';
import { confidenceSequence } from '../../src/verdict/confidence.js';

const stats = (equal: number, differingRows: string[][], missing = 0, extra = 0): OutcomeStats => ({
  equal,
  different: differingRows.length,
  missing,
  extra,
  fields: [],
  differingRows,
});

describe('windowBand', () => {
  it('sums each window and the earlier ones, newest first, noise-only records counted equal', () => {
    const windows = new Map([
      [120_000, stats(50, [['amount'], ['trace'], ['trace', 'amount']], 0, 1)],
      [60_000, stats(90, [['trace'], ['trace']], 2)],
    ]);
    const band = windowBand(windows, 60_000, new Set(['trace']), { alpha: 0.05, tolerance: 0.01 });
    expect(band.map((w) => [w.start, w.end])).toEqual([
      ['1970-01-01T00:02:00.000Z', '1970-01-01T00:03:00.000Z'],
      ['1970-01-01T00:01:00.000Z', '1970-01-01T00:02:00.000Z'],
    ]);
    expect(band[1]).toMatchObject({ equal: 92, different: 0, missing: 2, extra: 0 });
    expect(band[1]!.mismatchRate).toEqual({
      sampled: 94,
      mismatched: 2,
      rate: 2 / 94,
      ...confidenceSequence(2, 94, 0.05, 0.01),
    });
    expect(band[0]).toMatchObject({ equal: 51, different: 2, missing: 0, extra: 1 });
    expect(band[0]!.mismatchRate).toEqual({
      sampled: 148,
      mismatched: 5,
      rate: 5 / 148,
      ...confidenceSequence(5, 148, 0.05, 0.01),
    });
  });
});
