import type { DuckDBConnection } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import { ingestPlan } from '../../src/align/ingest.js';
import { type PackedPartition, packPartition, RecordPreparer } from '../../src/align/prepare.js';
import { recordKeying } from '../../src/align/record-keyer.js';
import { parseComparison } from '../../src/config/load.js';
import { MAX_DEPTH } from '../../src/diff/sql.js';
import { type BufferBatch, BufferWriter } from '../../src/store/buffer-writer.js';
import { connect, openDatabase } from '../../src/store/duckdb.js';
import { writeHeldRecords } from '../../src/store/held-records.js';
import { OpenPairs } from '../../src/store/open-pairs.js';
import { BUFFER, createSchema } from '../../src/store/schema.js';
import { tempDir } from '../helpers/tmp.js';

const files = tempDir();
afterAll(() => files.remove());

const config = parseComparison({
  id: 'x',
  live: { simulate: {} },
  candidate: { simulate: {} },
  key: ['id'],
  time: { field: 'at' },
  window: { size: '1m', allowedLateness: '0s' },
});
const plan = ingestPlan(config);

const T0 = Date.UTC(2026, 0, 1);
const doc = (id: string, at: number) => JSON.stringify({ id, at });

function partition(source: string, from: number, docs: string[]): PackedPartition {
  return packPartition(
    source,
    docs.map((_, i) => from + i),
    docs,
  );
}

const heldPairs = () => new OpenPairs({ sides: ['live', 'candidate'], samePartition: false, maxBytes: 2 ** 30 });

/** Writes every held record of these windows to the buffer table (one side alone never settles). */
async function writeHeld(connection: DuckDBConnection, pairs: OpenPairs, windows: number[]): Promise<void> {
  await writeHeldRecords(connection, 'x', (await pairs.take(windows, new Set())).rest);
}

function batch(partitions: PackedPartition[], closedThrough: number | null = null): BufferBatch {
  return {
    comparison: 'x',
    side: 'live',
    open: { closedThrough, expiredBefore: null },
    partitions,
    deadLetterLimit: 20,
  };
}

describe('buffer writer', () => {
  it('buffers and counts records keyed where the source ran as DuckDB does, in the order their partition delivered them', async () => {
    // Keyed where they are read (integers), and left to DuckDB (a fraction, a numeric string, a malformed text).
    const docs = [
      doc('a', T0),
      `{"id":"a","at":${T0}.5}`,
      doc('a', T0 + 2),
      '{"id":',
      `{"id":"b","at":" ${T0 + 3} "}`,
      doc('b', T0 + 61_000),
      doc('c', T0 + 121_000),
    ];
    const records = docs.map((value, i) => ({ partition: 't/0', offset: 10 + i, key: null, timestamp: 0, value }));
    // Every window open; the first closed; and all of it a replay after a restart, with the first closed.
    const cases = [
      { closedThrough: null, countedThrough: 0 },
      { closedThrough: T0 + 60_000, countedThrough: 0 },
      { closedThrough: T0 + 60_000, countedThrough: 100 },
    ];
    for (const { closedThrough, countedThrough } of cases) {
      const outcomes = [];
      for (const keying of [undefined, recordKeying(config)]) {
        const preparer = new RecordPreparer(
          { recordKeys: false, recordTimestamps: false, deadLetterLimit: 5, ...(keying ? { keying } : {}) },
          { skipThrough: new Map(), countedThrough: new Map([['t/0', countedThrough]]) },
        );
        const prepared = await preparer.prepare(records, { heartbeat: async () => {} }, true);
        expect(prepared.partitions.map((pack) => pack.runs !== undefined)).toEqual(keying ? [true, false] : [false]);
        const instance = await openDatabase({ path: ':memory:' });
        const connection = await connect(instance);
        await createSchema(connection);
        const pairs = heldPairs();
        const result = await new BufferWriter(plan, pairs).write(connection, batch(prepared.partitions, closedThrough));
        await writeHeld(
          connection,
          pairs,
          result.buffered.map((run) => run.w),
        );
        const rows = await connection.runAndReadAll(
          `SELECT position::INTEGER, k, w::VARCHAR, event_time::VARCHAR, status, rh::VARCHAR, doc
           FROM ${BUFFER} ORDER BY seq`,
        );
        const byWindow = (a: { w: number }, b: { w: number }) => a.w - b.w;
        // Runs of one window may come in two parts (keyed and not): the checkpoint adds them up.
        const runs = new Map<number, { w: number; first: number; n: number; replays: number }>();
        for (const run of result.buffered) {
          const sum = runs.get(run.w) ?? { w: run.w, first: run.first, n: 0, replays: 0 };
          runs.set(run.w, {
            w: run.w,
            first: Math.min(sum.first, run.first),
            n: sum.n + run.n,
            replays: sum.replays + run.replays,
          });
        }
        outcomes.push({
          counts: Object.fromEntries(result.counts),
          invalid: Object.fromEntries(result.invalidReasons),
          latest: Object.fromEntries(result.maxEventTimes),
          runs: [...runs.values()].sort(byWindow),
          rows: rows.getRowsJS(),
        });
        connection.closeSync();
        instance.closeSync();
      }
      // The same counts and rows either way, in the order of their positions (the duplicates rule reads it).
      expect(outcomes[1]).toEqual(outcomes[0]);
    }
  });

  it('buffers a batch of several partitions in arrival order, with counts, open-window runs and dead letters', async () => {
    const instance = await openDatabase({ path: `${files.dir}/writer.duckdb` });
    const connection = await connect(instance);
    await createSchema(connection);
    const writer = new BufferWriter(plan, heldPairs());
    const result = await writer.write(
      connection,
      batch([
        partition('t/0', 10, [doc('a', T0), doc('b', T0 + 61_000), '{"id":']),
        partition('t/1', 5, [doc('a', T0 + 1), doc('c', T0 + 2)]),
      ]),
    );
    expect(Object.fromEntries(result.counts)).toEqual({ buffered: 4, invalid: 1 });
    expect(Object.fromEntries(result.invalidReasons)).toEqual({ malformed: 1 });
    expect(Object.fromEntries(result.maxEventTimes)).toEqual({ 't/0': T0 + 61_000, 't/1': T0 + 2 });
    expect(result.buffered.sort((a, b) => a.source.localeCompare(b.source) || a.w - b.w)).toEqual([
      { source: 't/0', w: T0, first: 10, n: 1, replays: 0 },
      { source: 't/0', w: T0 + 60_000, first: 11, n: 1, replays: 0 },
      { source: 't/1', w: T0, first: 5, n: 2, replays: 0 },
    ]);
    expect(result.deadLetters).toEqual([{ source: 't/0', position: 12, reason: 'malformed', raw: '{"id":' }]);
    // A second batch, in a window that has closed meanwhile for one of its records.
    const late = await writer.write(
      connection,
      batch([partition('t/1', 7, [doc('d', T0 + 3), doc('e', T0 + 60_001)])], T0 + 60_000),
    );
    expect(Object.fromEntries(late.counts)).toEqual({ buffered: 1, late: 1 });

    // Rows as arrays; the queries cast BIGINTs to INTEGER, so they read as JS numbers.
    const rows = async (sql: string) => (await connection.runAndReadAll(sql)).getRowsJS();
    const buffered = await rows(`SELECT source, position::INTEGER, k, seq::INTEGER FROM ${BUFFER} ORDER BY seq`);
    expect(buffered.map(([source, position, k]) => [source, position, k])).toEqual([
      ['t/0', 10, 'a'],
      ['t/0', 11, 'b'],
      ['t/1', 5, 'a'],
      ['t/1', 6, 'c'],
      ['t/1', 8, 'e'],
    ]);
    // Each text's hash is kept with it, as the window diff compares them.
    expect(
      await rows(`SELECT count(*)::INTEGER FROM ${BUFFER} WHERE rh IS DISTINCT FROM md5_number_lower(doc)`),
    ).toEqual([[0]]);
    // Small, exact numbers (JS reads them as numbers), growing with arrival across batches.
    expect(buffered.every(([, , , seq]) => Number(seq) < 100)).toBe(true);
    // Nothing durable is written: the checkpoint stores counts, positions and dead letters.
    expect(await rows('SELECT count(*)::INTEGER FROM record_counts')).toEqual([[0]]);
    expect(await rows('SELECT count(*)::INTEGER FROM positions')).toEqual([[0]]);
    connection.closeSync();
    instance.closeSync();
  });

  it('counts texts nested past the limit invalid (too_deep) with a dead letter, and leaves a deep replay alone', async () => {
    const instance = await openDatabase({ path: `${files.dir}/deep.duckdb` });
    const connection = await connect(instance);
    await createSchema(connection);
    const writer = new BufferWriter(plan, heldPairs());
    const nested = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    const deep = JSON.stringify({ id: 'deep', at: T0 }).replace('}', `,"v":${nested(MAX_DEPTH)}}`);
    const shallow = JSON.stringify({ id: 'shallow', at: T0 }).replace('}', `,"v":${nested(MAX_DEPTH - 1)}}`);
    const result = await writer.write(
      connection,
      batch([{ ...partition('t/0', 1, [deep]), replay: true }, partition('t/0', 2, [deep, shallow])]),
    );
    expect(Object.fromEntries(result.counts)).toEqual({ buffered: 1, invalid: 1 });
    expect(Object.fromEntries(result.invalidReasons)).toEqual({ too_deep: 1 });
    expect(result.deadLetters.map((letter) => [letter.position, letter.reason])).toEqual([[2, 'too_deep']]);
    const rows = (await connection.runAndReadAll(`SELECT k FROM ${BUFFER}`)).getRowsJS();
    expect(rows.flat()).toEqual(['shallow']);
    connection.closeSync();
    instance.closeSync();
  });

  it('counts each side exactly when both sides write at once, each on its own connection', async () => {
    const instance = await openDatabase({ path: ':memory:' });
    const connections = [await connect(instance), await connect(instance)];
    await createSchema(connections[0]!);
    const pairs = heldPairs();
    const writer = new BufferWriter(plan, pairs);
    const preparer = new RecordPreparer(
      { recordKeys: false, recordTimestamps: false, deadLetterLimit: 5, keying: recordKeying(config)! },
      { skipThrough: new Map(), countedThrough: new Map() },
    );
    // Keyed and unkeyed packs: each batch binds two statements, with turns of the event loop between.
    const records = (round: number) =>
      [doc('a', T0), '{"id":', doc('b', T0), `{"id":"c","at":${T0}.5}`].map((value, i) => ({
        partition: `t/${round}`,
        offset: i,
        key: null,
        timestamp: 0,
        value,
      }));
    for (let round = 0; round < 10; round++) {
      const { partitions } = await preparer.prepare(records(round), { heartbeat: async () => {} }, true);
      const sides = round % 2 === 0 ? (['live', 'candidate'] as const) : (['candidate', 'live'] as const);
      const results = await Promise.all(
        sides.map((side, i) => writer.write(connections[i]!, { ...batch(partitions), side })),
      );
      for (const result of results) expect(Object.fromEntries(result.counts)).toEqual({ buffered: 3, invalid: 1 });
    }
    await writeHeld(connections[0]!, pairs, [T0]);
    const rows = (
      await connections[0]!.runAndReadAll(
        `SELECT side, status, count(*)::INTEGER FROM ${BUFFER} GROUP BY ALL ORDER BY ALL`,
      )
    ).getRowsJS();
    expect(rows).toEqual([
      ['candidate', 'buffered', 30],
      ['live', 'buffered', 30],
    ]);
    for (const connection of connections) connection.closeSync();
    instance.closeSync();
  });

  it('buffers replays of open windows again without counting them, and leaves the others alone', async () => {
    const instance = await openDatabase({ path: `${files.dir}/replay.duckdb` });
    const connection = await connect(instance);
    await createSchema(connection);
    const writer = new BufferWriter(plan, heldPairs());
    const replay = {
      ...partition('t/0', 3, [doc('old', T0 - 60_000), doc('a', T0), '{"id":', doc('b', T0 + 1)]),
      replay: true,
    };
    const result = await writer.write(connection, batch([replay, partition('t/0', 7, [doc('c', T0 + 2)])], T0));
    expect(Object.fromEntries(result.counts)).toEqual({ buffered: 1 });
    expect(result.buffered).toEqual([{ source: 't/0', w: T0, first: 4, n: 3, replays: 2 }]);
    expect(result.deadLetters).toEqual([]);
    const rows = (await connection.runAndReadAll(`SELECT k FROM ${BUFFER} ORDER BY seq`)).getRowsJS();
    expect(rows.flat()).toEqual(['a', 'b', 'c']);
    connection.closeSync();
    instance.closeSync();
  });
});
