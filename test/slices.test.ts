import { describe, expect, it } from 'vitest';
import { EventLoopSlices } from '../src/slices.js';

function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

describe('EventLoopSlices', () => {
  it('lets the event loop run between slices of long synchronous work', async () => {
    const slices = new EventLoopSlices(4);
    let servedAtStep: number | undefined;
    let step = 0;
    setImmediate(() => {
      servedAtStep = step;
    });
    // 200 steps of 0.25 ms: 50 ms of work, which without slices would hold the loop throughout.
    for (; step < 200; step++) {
      await slices.pause();
      busy(0.25);
    }
    expect(servedAtStep).toBeDefined();
    expect(servedAtStep).toBeLessThan(50);
  });

  it('does not yield within a slice', async () => {
    const slices = new EventLoopSlices(1_000);
    let served = false;
    setImmediate(() => {
      served = true;
    });
    for (let step = 0; step < 1_000; step++) await slices.pause();
    expect(served).toBe(false);
  });
});
