import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { parseComparison } from '../../src/config/load.js';
import { runBatchDiff } from '../../src/diff/batch.js';
import { partitionBits, ROWS_PER_PARTITION } from '../../src/diff/key-partitions.js';
import { tempDir } from '../helpers/tmp.js';

const files = tempDir();
afterAll(() => files.remove());

describe('partitionBits', () => {
  it('splits compared records into partitions of at most ROWS_PER_PARTITION, 256 at most', () => {
    expect(partitionBits(0)).toBe(0);
    expect(partitionBits(ROWS_PER_PARTITION)).toBe(0);
    expect(partitionBits(ROWS_PER_PARTITION + 1)).toBe(1);
    expect(partitionBits(20_000_000)).toBe(4);
    expect(partitionBits(1e12)).toBe(8);
    expect(partitionBits(1000, 10)).toBe(7);
  });
});

const MINUTE = 60_000;
const START = Date.UTC(2026, 0, 1);

/**
 * 3,000 keys over three one-minute windows, with every outcome and every kind of record the
 * aligning step counts: the truth below is what each must come to.
 */
function dataset() {
  const live: string[] = [];
  const candidate: string[] = [];
  const row = (id: number, window: number, amount: number, extra: Record<string, unknown> = {}) =>
    JSON.stringify({ id: `k-${id}`, t: START + window * MINUTE + (id % 50), amount, ...extra });
  for (let id = 0; id < 3000; id++) {
    const window = id % 3;
    if (id % 100 === 1) {
      live.push(row(id, window, id)); // missing
      continue;
    }
    if (id % 100 === 2) {
      candidate.push(row(id, window, id)); // extra
      continue;
    }
    live.push(row(id, window, id));
    // different: 1 in 20
    candidate.push(row(id, window, id % 20 === 5 ? id + 1 : id));
    if (id % 100 === 7) {
      // a duplicate on each side: the last copy is the one compared (equal), the first differs
      live.push(row(id, window, id));
      candidate.unshift(row(id, window, -1));
    }
  }
  live.push('{"id":"broken"', JSON.stringify({ t: START }), JSON.stringify({ id: 'no-time' }));
  candidate.push('not json');
  // Keys in two windows are two keys: k-0 again, one minute later, on the live side only.
  live.push(row(0, 1, 0));
  return { live: `${live.join('\n')}\n`, candidate: `${candidate.join('\n')}\n` };
}

const partitionFolders = () => readdirSync(tmpdir()).filter((name) => name.startsWith('shadowdiff-partitions-'));

describe('aligning in key-hash partitions', () => {
  const { live, candidate } = dataset();
  const foldersBefore = partitionFolders();
  const inputs = { live: files.write('p-live.ndjson', live), candidate: files.write('p-candidate.ndjson', candidate) };

  for (const duplicates of ['last', 'first'] as const) {
    it(`gives the counts, fields and samples of one partition with 128 of them (duplicates: ${duplicates})`, async () => {
      const comparison = parseComparison({
        id: 'partitions',
        live: { file: { path: 'unused' } },
        candidate: { file: { path: 'unused' } },
        key: ['id'],
        time: { field: 't' },
        window: { size: '1m' },
        duplicates,
      });
      const whole = await runBatchDiff(comparison, inputs, { samples: 3, windows: true });
      const split = await runBatchDiff(comparison, inputs, {
        samples: 3,
        windows: true,
        tuning: { rowsPerPartition: 50 },
      });
      // The partitions' Parquet files are gone with the diff.
      expect(partitionFolders()).toEqual(foldersBefore);
      // Per 100 ids: 1 missing, 1 extra, 98 on both sides, of which 5 differ (ids 5, 25, 45, 65, 85);
      // with duplicates: first, the first copy of id 7 (amount -1) differs as well. Valid records
      // count duplicates, and live's k-0 of the second window.
      expect(whole.counts).toMatchObject({
        live: 2970 + 30 + 1,
        candidate: 2970 + 30,
        equal: 30 * (98 - 5) - (duplicates === 'first' ? 30 : 0),
        different: 30 * 5 + (duplicates === 'first' ? 30 : 0),
        missing: 30 + 1,
        extra: 30,
        duplicateLive: 30,
        duplicateCandidate: 30,
        invalidLive: 3,
        invalidCandidate: 1,
      });
      expect(whole.invalidReasons).toEqual({
        live: { malformed: 1, missing_key: 1, missing_time: 1 },
        candidate: { malformed: 1 },
      });
      const { verdict: _w, ...wholeRest } = whole;
      const { verdict: _s, ...splitRest } = split;
      expect(splitRest).toEqual(wholeRest);
      expect(split.verdict.verdict).toBe(whole.verdict.verdict);
    });
  }

  it('names a duplicated key on duplicates: error from whichever partition holds it', async () => {
    const comparison = parseComparison({
      id: 'partitions',
      live: { file: { path: 'unused' } },
      candidate: { file: { path: 'unused' } },
      key: ['id'],
      time: { field: 't' },
      window: { size: '1m' },
      duplicates: 'error',
    });
    await expect(runBatchDiff(comparison, inputs, { samples: 0, tuning: { rowsPerPartition: 50 } })).rejects.toThrow(
      /duplicate key "k-\d+07" on (live|candidate) \(duplicates: error\); 30 duplicate\(s\) on live, 30 on candidate/,
    );
  });
});
