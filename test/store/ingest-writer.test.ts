import { afterAll, describe, expect, it } from 'vitest';
import { ingestPlan } from '../../src/align/ingest.js';
import { type PackedPartition, packPartition } from '../../src/align/prepare.js';
import { parseComparison } from '../../src/config/load.js';
import { connect, openDatabase } from '../../src/store/duckdb.js';
import { type IngestBatch, IngestWriter } from '../../src/store/ingest-writer.js';
import { createSchema } from '../../src/store/schema.js';
import { tempDir } from '../helpers/tmp.js';

const files = tempDir();
afterAll(() => files.remove());

const plan = ingestPlan(
  parseComparison({
    id: 'x',
    live: { simulate: {} },
    candidate: { simulate: {} },
    key: ['id'],
    time: { field: 'at' },
    window: { size: '1m', allowedLateness: '0s' },
  }),
);

const T0 = Date.UTC(2026, 0, 1);
const doc = (id: string, at: number) => JSON.stringify({ id, at });

function partition(source: string, from: number, docs: string[]): PackedPartition & { last: number } {
  return {
    ...packPartition(
      source,
      docs.map((_, i) => from + i),
      docs,
    ),
    last: from + docs.length - 1,
  };
}

function batch(partitions: (PackedPartition & { last: number })[], closedThrough: number | null = null): IngestBatch {
  return {
    comparison: 'x',
    epoch: 1,
    side: 'live',
    closedThrough,
    partitions,
    invalid: new Map(),
    deadLetters: [],
    positions: new Map(partitions.map((p) => [p.source, p.last])),
    deadLetterLimit: 20,
  };
}

describe('ingest writer', () => {
  it('buffers a batch of several partitions in arrival order, with counts, positions and dead letters', async () => {
    const instance = await openDatabase({ path: `${files.dir}/writer.duckdb` });
    const connection = await connect(instance);
    await createSchema(connection);
    const writer = await IngestWriter.open(connection, plan);
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
    // A second batch, in a window that has closed meanwhile for one of its records.
    const late = await writer.write(
      connection,
      batch([partition('t/1', 7, [doc('d', T0 + 3), doc('e', T0 + 60_001)])], T0 + 60_000),
    );
    expect(Object.fromEntries(late.counts)).toEqual({ buffered: 1, late: 1 });

    // Rows as arrays; the queries cast BIGINTs to INTEGER, so they read as JS numbers.
    const rows = async (sql: string) => (await connection.runAndReadAll(sql)).getRowsJS();
    const buffered = await rows('SELECT source, position::INTEGER, k, seq::INTEGER FROM buffer ORDER BY seq');
    expect(buffered.map(([source, position, k]) => [source, position, k])).toEqual([
      ['t/0', 10, 'a'],
      ['t/0', 11, 'b'],
      ['t/1', 5, 'a'],
      ['t/1', 6, 'c'],
      ['t/1', 8, 'e'],
    ]);
    // Each text's hash is kept with it, as the window diff compares them.
    expect(await rows('SELECT count(*)::INTEGER FROM buffer WHERE rh IS DISTINCT FROM hash(doc)')).toEqual([[0]]);
    // Small, exact numbers (JS reads them as numbers), growing with arrival across batches.
    expect(buffered.every(([, , , seq]) => Number(seq) < 100)).toBe(true);
    expect(await rows('SELECT status, n::INTEGER FROM record_counts ORDER BY status')).toEqual([
      ['buffered', 5],
      ['invalid', 1],
      ['late', 1],
    ]);
    expect(await rows('SELECT source, position::INTEGER FROM positions ORDER BY source')).toEqual([
      ['t/0', 12],
      ['t/1', 8],
    ]);
    expect(await rows('SELECT source, position::INTEGER, reason, raw FROM dead_letters')).toEqual([
      ['t/0', 12, 'malformed', '{"id":'],
    ]);

    // Reopened (a restart), the writer numbers new records after the buffered ones.
    const reopened = await IngestWriter.open(connection, plan);
    await reopened.write(connection, batch([partition('t/0', 13, [doc('f', T0 + 61_001)])], T0 + 60_000));
    const [last] = await rows('SELECT k, seq::INTEGER FROM buffer ORDER BY seq DESC LIMIT 1');
    expect(last?.[0]).toBe('f');
    expect(Number(last?.[1])).toBeGreaterThan(Number(buffered.at(-1)?.[3]));
    connection.closeSync();
    instance.closeSync();
  });
});
