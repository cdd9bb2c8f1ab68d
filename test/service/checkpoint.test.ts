import { afterAll, describe, expect, it } from 'vitest';
import { Checkpoint } from '../../src/service/checkpoint.js';
import type { BufferResult } from '../../src/store/buffer-writer.js';
import { connect, openDatabase } from '../../src/store/duckdb.js';
import { createSchema } from '../../src/store/schema.js';
import { tempDir } from '../helpers/tmp.js';

const files = tempDir();
afterAll(() => files.remove());

const W = 60_000;

function result(buffered: BufferResult['buffered'], maxEventTimes: [string, number][] = []): BufferResult {
  return {
    counts: new Map(),
    invalidReasons: new Map(),
    maxEventTimes: new Map(maxEventTimes),
    buffered,
    deadLetters: [],
  };
}

describe('checkpoint', () => {
  it('resumes each partition at the first record an open window needs, else after its last counted one', () => {
    const checkpoint = new Checkpoint('c', ['live', 'candidate']);
    checkpoint.buffered(
      'live',
      new Map([
        ['t/0', 19],
        ['t/1', 7],
      ]),
      result([
        { source: 't/0', w: 0, first: 10, n: 3, replays: 0 },
        { source: 't/0', w: W, first: 12, n: 5, replays: 0 },
      ]),
    );
    expect(checkpoint.startPositions('live')).toEqual({
      skipThrough: new Map([
        ['t/0', 9],
        ['t/1', 7],
      ]),
      countedThrough: new Map([
        ['t/0', 19],
        ['t/1', 7],
      ]),
    });
    expect(checkpoint.openWindows()).toEqual([0, W]);
    expect(checkpoint.bufferedIn(W)).toBe('live:5');
    checkpoint.forget([0]);
    expect(checkpoint.startPositions('live').skipThrough.get('t/0')).toBe(11);
    expect(Object.fromEntries(checkpoint.forgetBefore(2 * W))).toEqual({ live: 5 });
    expect(checkpoint.startPositions('live').skipThrough.get('t/0')).toBe(19);
    expect(checkpoint.openWindows()).toEqual([]);
  });

  it('keeps a restored partition at its stored resume until its replay passes counted-through, then tells what never came back', () => {
    const checkpoint = new Checkpoint('c', ['live']);
    const ended = checkpoint.restore([
      { side: 'live', source: 't/0', countedThrough: 20, resume: 10, buffered: 6, maxEventTime: 5 * W },
      { side: 'live', source: 't/1', countedThrough: 8, resume: 9, buffered: 0, maxEventTime: 4 * W },
    ]);
    // Nothing to replay in t/1: its watermark may take its stored event time at once.
    expect(ended).toEqual([{ side: 'live', source: 't/1', missing: 0, maxEventTime: 4 * W }]);
    const partial = checkpoint.buffered(
      'live',
      new Map([['t/0', 15]]),
      result([{ source: 't/0', w: W, first: 10, n: 4, replays: 4 }], [['t/0', W]]),
    );
    expect(partial).toEqual([]);
    expect(checkpoint.startPositions('live').skipThrough.get('t/0')).toBe(9);
    const done = checkpoint.buffered(
      'live',
      new Map([['t/0', 22]]),
      result([{ source: 't/0', w: W, first: 16, n: 3, replays: 1 }], [['t/0', W + 1]]),
    );
    // 6 were buffered at the checkpoint; 5 came back: 1 is gone from the log.
    expect(done).toEqual([{ side: 'live', source: 't/0', missing: 1, maxEventTime: 5 * W }]);
    expect(checkpoint.startPositions('live').skipThrough.get('t/0')).toBe(9);
    expect(checkpoint.bufferedCount('live', 't/0')).toBe(7);
  });

  it('counts positions the log lost past counted-through once, and ends the replay they cut short', () => {
    const checkpoint = new Checkpoint('c', ['live']);
    checkpoint.restore([{ side: 'live', source: 't/0', countedThrough: 20, resume: 10, buffered: 6, maxEventTime: W }]);
    const { uncounted, ended } = checkpoint.lostFromLog('live', 't/0', 10, 30);
    expect(uncounted).toBe(9);
    expect(ended).toEqual({ side: 'live', source: 't/0', missing: 6, maxEventTime: W });
    expect(checkpoint.startPositions('live')).toEqual({
      skipThrough: new Map([['t/0', 29]]),
      countedThrough: new Map([['t/0', 29]]),
    });
  });

  it('stores counts, dead letters, positions and the open-window bounds in one transaction, with the statements given', async () => {
    const instance = await openDatabase({ path: `${files.dir}/checkpoint.duckdb` });
    const connection = await connect(instance);
    await createSchema(connection);
    await connection.run(
      `INSERT INTO comparisons (id, config, epoch, epoch_started_at, created_at) VALUES ('c', '{}', 1, now(), now())`,
    );
    const checkpoint = new Checkpoint('c', ['live']);
    checkpoint.buffered('live', new Map([['t/0', 4]]), result([{ source: 't/0', w: 0, first: 3, n: 2, replays: 0 }]));
    checkpoint.count(1, 'live', 'buffered', 2);
    checkpoint.count(1, 'live', 'invalid', 3);
    checkpoint.count(1, 'live', 'invalid', 1);
    checkpoint.deadLetters('live', [{ source: 't/0', position: 1, reason: 'malformed', raw: '{' }]);
    expect(checkpoint.pendingCounts(1).map((d) => [d.status, d.n])).toEqual([
      ['buffered', 2],
      ['invalid', 4],
    ]);
    const committed = await checkpoint.commit(connection, { closedThrough: 7, expiredBefore: null }, [
      `INSERT INTO windows VALUES ('c', 1, ${-W}, now(), 1, 0, 0, 0, 0, 0.1)`,
    ]);
    expect(committed.get('live')).toEqual(new Map([['t/0', 2]]));
    expect(checkpoint.dirty).toBe(false);
    expect(checkpoint.pendingCounts(1)).toEqual([]);
    const rows = async (sql: string) => (await connection.runAndReadAll(sql)).getRowsJS();
    expect(await rows('SELECT status, n::INTEGER FROM record_counts ORDER BY status')).toEqual([
      ['buffered', 2],
      ['invalid', 4],
    ]);
    expect(await rows('SELECT source, position::INTEGER, resume::INTEGER, buffered::INTEGER FROM positions')).toEqual([
      ['t/0', 4, 3, 2],
    ]);
    expect(await rows('SELECT closed_through::INTEGER, expired_before FROM comparisons')).toEqual([[7, null]]);
    expect(await rows('SELECT count(*)::INTEGER FROM windows')).toEqual([[1]]);
    expect(await rows('SELECT count(*)::INTEGER FROM dead_letters')).toEqual([[1]]);
    connection.closeSync();
    instance.closeSync();
  });

  it('reads stored and pending counts as of one state, however a commit interleaves (a verdict said 250 lost of 350)', async () => {
    const instance = await openDatabase({ path: ':memory:' });
    const writer = await connect(instance);
    const reader = await connect(instance);
    await createSchema(writer);
    const checkpoint = new Checkpoint('c', ['live']);
    const storedLost = async () =>
      Number(
        (await reader.runAndReadAll('SELECT coalesce(sum(n), 0)::INTEGER FROM record_counts')).getRowsJS()[0]?.[0],
      );
    const pendingLost = (pending: { n: number }[]) => pending.reduce((sum, delta) => sum + delta.n, 0);
    const open = { closedThrough: null, expiredBefore: null };

    // A commit in flight when the read starts: its counts have left memory, not yet reached storage.
    checkpoint.count(1, 'live', 'lost', 5);
    const commit = checkpoint.commit(writer, open);
    const inFlight = checkpoint.readCounts(1, async (pending) => pendingLost(pending) + (await storedLost()));
    await commit;
    expect(await inFlight).toBe(5);

    // A commit that starts while the read runs: its counts would be read in memory and in storage.
    checkpoint.count(1, 'live', 'lost', 3);
    let reads = 0;
    const during = await checkpoint.readCounts(1, async (pending) => {
      const inMemory = pendingLost(pending);
      if (reads++ === 0) await checkpoint.commit(writer, open);
      return inMemory + (await storedLost());
    });
    expect({ during, reads }).toEqual({ during: 8, reads: 2 });
    writer.closeSync();
    reader.closeSync();
    instance.closeSync();
  });
});
