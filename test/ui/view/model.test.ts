import { describe, expect, it } from 'vitest';
import { noiseShare } from '../../../src/ui/view/model.js';

describe('noiseShare', () => {
  const field = { path: 'trace_id', different: 90, kinds: { value: 90 }, noise: true };

  it('is the share of the candidate rate the control side shows too, at most all of it', () => {
    expect(noiseShare(field, [{ path: 'trace_id', candidateRate: 0.9, controlRate: 0.45 }])).toBe(0.5);
    expect(noiseShare(field, [{ path: 'trace_id', candidateRate: 0.4, controlRate: 0.9 }])).toBe(1);
  });

  it('is unknown for a field the control side does not show as noise', () => {
    expect(
      noiseShare({ ...field, path: 'amount' }, [{ path: 'trace_id', candidateRate: 0.9, controlRate: 0.45 }]),
    ).toBe(undefined);
    expect(noiseShare(field, undefined)).toBe(undefined);
  });
});
