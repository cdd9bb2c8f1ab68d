import { describe, expect, it } from 'vitest';
import { WatermarkTracker } from '../../src/align/watermarks.js';

describe('watermarks', () => {
  it('is the minimum over a side’s partitions, and waits for partitions that have not delivered', () => {
    const tracker = new WatermarkTracker(['live', 'candidate'], 60_000);
    tracker.register('live', 'p0', 0);
    tracker.register('live', 'p1', 0);
    tracker.observe('live', 'p0', 5000, 1);
    expect(tracker.watermark('live', 2)).toBeNull();
    tracker.observe('live', 'p1', 3000, 2);
    expect(tracker.watermark('live', 3)).toBe(3000);
    expect(tracker.combined(3)).toBeNull();
    tracker.observe('candidate', 'p0', 4000, 3);
    expect(tracker.combined(4)).toBe(3000);
  });

  it('knows the latest event time of any side, null before the first', () => {
    const tracker = new WatermarkTracker(['live', 'candidate'], 60_000);
    tracker.register('live', 'p0', 0);
    expect(tracker.latest()).toBeNull();
    tracker.observe('live', 'p0', 5000, 1);
    tracker.observe('candidate', 'p0', 7000, 1);
    tracker.observe('candidate', 'p0', 6000, 2);
    expect(tracker.latest()).toBe(7000);
  });

  it('lets idle partitions stop holding the watermark, unless the side is paused', () => {
    const tracker = new WatermarkTracker(['live'], 1000);
    tracker.observe('live', 'busy', 9000, 0);
    tracker.observe('live', 'quiet', 2000, 0);
    tracker.observe('live', 'busy', 9500, 1500);
    expect(tracker.watermark('live', 1600)).toBe(9500);
    tracker.setPaused('live', true);
    expect(tracker.watermark('live', 1600)).toBe(2000);
    tracker.setPaused('live', false);
    // Every partition idle: the side keeps its latest event time and stops advancing.
    expect(tracker.watermark('live', 10_000)).toBe(9500);
  });

  it('moves to +∞ at end of input', () => {
    const tracker = new WatermarkTracker(['live'], 1000);
    tracker.observe('live', 'file', 100, 0);
    tracker.setEnded('live', true);
    expect(tracker.watermark('live')).toBe(Number.POSITIVE_INFINITY);
  });
});
