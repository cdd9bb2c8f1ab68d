import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { PackedPartition, PreparedBatch } from '../../src/align/prepare.js';
import type { Side } from '../../src/config/schema.js';
import {
  KEYED_LINGER_MS,
  keyedLingerMs,
  LINGER_MS,
  type PendingBatch,
  PendingBatches,
} from '../../src/service/pending-batches.js';
import type { PreparedSource } from '../../src/sources/source.js';

const bounds = { windowMs: 10_000, latenessMs: 2_000, idleTimeoutMs: 30_000 };
const source = {} as PreparedSource;

/** One delivery of `n` records of partition p0, keyed at the source (runs) or not, the last at event time `t`. */
function delivery(n: number, t: number, keyed = true): PreparedBatch {
  const pack: PackedPartition = {
    source: 'p0',
    count: n,
    docs: new Uint8Array(),
    positions: '',
    ...(keyed ? { runs: [{ w: Math.floor(t / 10_000) * 10_000, first: 0, n, maxEventTime: t }] } : {}),
  };
  return { partitions: [pack], invalid: [], deadLetters: [], positions: [], sampledOut: 0, outOfScope: 0, records: n };
}

describe('pending batches', () => {
  let written: { side: Side; records: number; at: number }[];
  /** Per written batch: how many packs (statement slots) it went to DuckDB in. */
  let packs: number[];
  let batches: PendingBatches;
  const start = 1_800_000_000_000;

  beforeEach(() => {
    vi.useFakeTimers({ now: start });
    written = [];
    packs = [];
    batches = new PendingBatches(
      {
        write: async (side: Side, batch: PendingBatch) => {
          written.push({ side, records: batch.records, at: Date.now() - start });
          packs.push(batch.partitions.length);
        },
        written: () => {},
        failed: (error) => {
          throw error;
        },
        isFailed: () => false,
      },
      bounds,
    );
  });
  afterEach(() => vi.useRealTimers());

  it('gathers a trickle of keyed records for up to KEYED_LINGER_MS, after a partition first delivers at once', async () => {
    // Event times after the close point of window [-10 s, 0) and before the end of [0, 10 s): none
    // moves a watermark past a bound.
    await batches.add('live', source, delivery(50, 3_000));
    await vi.advanceTimersByTimeAsync(0);
    expect(written).toEqual([{ side: 'live', records: 50, at: 0 }]);
    for (let i = 1; i <= 30; i++) {
      await vi.advanceTimersByTimeAsync(100);
      await batches.add('live', source, delivery(50, 3_000 + i * 100));
    }
    // Records from 100 ms on: their batch is written 2 s after they came, with the 19 deliveries up to then.
    expect(written).toEqual([
      { side: 'live', records: 50, at: 0 },
      { side: 'live', records: 20 * 50, at: 100 + KEYED_LINGER_MS },
    ]);
    // Twenty deliveries of one partition go to DuckDB as one pack.
    expect(packs).toEqual([1, 1]);
  });

  it("writes at once a delivery that moves the latest event time past a window's end or its close point", async () => {
    await batches.add('live', source, delivery(1, 9_000));
    await vi.advanceTimersByTimeAsync(100);
    await batches.add('live', source, delivery(1, 9_900));
    await vi.advanceTimersByTimeAsync(100);
    await batches.add('live', source, delivery(1, 10_000)); // the end of window 0: its early diff
    await vi.advanceTimersByTimeAsync(100);
    await batches.add('live', source, delivery(1, 11_000));
    await vi.advanceTimersByTimeAsync(100);
    await batches.add('live', source, delivery(1, 12_000)); // its end plus the lateness: its close
    await vi.advanceTimersByTimeAsync(0);
    expect(written.map((w) => [w.records, w.at])).toEqual([
      [1, 0],
      [2, 200],
      [2, 400],
    ]);
  });

  it('writes records DuckDB classifies after LINGER_MS, and a keyed batch that gets some no later', async () => {
    await batches.add('candidate', source, delivery(1, 3_000));
    await vi.advanceTimersByTimeAsync(100);
    await batches.add('candidate', source, delivery(5, 3_100));
    await vi.advanceTimersByTimeAsync(100);
    await batches.add('candidate', source, delivery(5, 0, false));
    await vi.advanceTimersByTimeAsync(LINGER_MS);
    expect(written.map((w) => [w.records, w.at])).toEqual([
      [1, 0],
      [10, 100 + LINGER_MS],
    ]);
  });

  it('writes what is pending when asked, as for an input that ended', async () => {
    await batches.add('live', source, delivery(1, 3_000));
    await batches.add('live', source, delivery(3, 3_100));
    await vi.advanceTimersByTimeAsync(0);
    batches.flushNow('live');
    await vi.advanceTimersByTimeAsync(0);
    expect(written.map((w) => [w.records, w.at])).toEqual([
      [1, 0],
      [3, 0],
    ]);
    expect(batches.isIdle('live')).toBe(true);
  });

  it('lingers well within an idle timeout', () => {
    expect(keyedLingerMs(bounds)).toBe(KEYED_LINGER_MS);
    expect(keyedLingerMs({ ...bounds, idleTimeoutMs: 4_000 })).toBe(1_000);
    expect(keyedLingerMs({ ...bounds, idleTimeoutMs: 1_000 })).toBe(LINGER_MS);
  });
});
