import { describe, expect, it } from 'vitest';
import { SettleChoice } from '../../src/service/settle-choice.js';

describe('settle choice', () => {
  it('settles until a settle finds less than half the differing pairs equal, then tries again one diff in eight', () => {
    const choice = new SettleChoice();
    expect(choice.next()).toBe(true);
    choice.observe({ tried: true, pending: 100, settled: 50 });
    expect(choice.next()).toBe(true);
    choice.observe({ tried: true, pending: 100, settled: 49 });
    const next = Array.from({ length: 8 }, () => choice.next());
    expect(next).toEqual([false, false, false, false, false, false, false, true]);
    // The retry settled most: settling again from then on.
    choice.observe({ tried: true, pending: 10, settled: 9 });
    expect(choice.next()).toBe(true);
  });

  it('learns nothing from a diff without differing pairs, or one that did not settle', () => {
    const choice = new SettleChoice();
    choice.observe({ tried: true, pending: 0, settled: 0 });
    expect(choice.next()).toBe(true);
    choice.observe({ tried: true, pending: 10, settled: 0 });
    expect(choice.next()).toBe(false);
    choice.observe({ tried: false, pending: 10, settled: 0 });
    expect(choice.next()).toBe(false);
  });
});
