import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseComparison } from '../../src/config/load.js';
import type { Side } from '../../src/config/schema.js';
import { diffSpecOf } from '../../src/diff/batch.js';
import { literal, textHash } from '../../src/diff/sql.js';
import { SettleChoice } from '../../src/service/settle-choice.js';
import { diffWindows, misroutedCounts } from '../../src/service/window-close.js';
import { connect, openDatabase } from '../../src/store/duckdb.js';
import { writeHeldRecords } from '../../src/store/held-records.js';
import { OpenPairs } from '../../src/store/open-pairs.js';
import { BUFFER, createSchema } from '../../src/store/schema.js';

type Connection = Awaited<ReturnType<typeof connect>>;
let connection: Connection;
let seq = 0;

beforeAll(async () => {
  connection = await connect(await openDatabase({ path: ':memory:' }));
  await createSchema(connection);
});
afterAll(() => connection?.closeSync());

/** Buffers one record of `key` in window `w` from `topic/partition`, arriving after every earlier one. */
async function buffer(comparison: string, side: string, w: number, key: string, partition: number): Promise<void> {
  seq++;
  await connection.run(
    `INSERT INTO ${BUFFER} VALUES (${literal(comparison)}, ${literal(side)}, ${w}, ${literal(key)}, ${seq},
       ${literal(`orders.${side}/${partition}`)}, ${seq}, '{}', 0, 'buffered', NULL, ${w}, 0)`,
  );
}

describe('misrouted counts of closing windows', () => {
  it('compares the partition of the record each side keeps with live, per window and key', async () => {
    const id = 'misrouted';
    // Window 0: a on one partition everywhere; b misrouted on candidate only; c on control only;
    // d on candidate and control: live counts d once.
    for (const [key, live, candidate, control] of [
      ['a', 0, 0, 0],
      ['b', 1, 2, 1],
      ['c', 2, 2, 0],
      ['d', 0, 1, 2],
    ] as const) {
      await buffer(id, 'live', 0, key, live);
      await buffer(id, 'candidate', 0, key, candidate);
      await buffer(id, 'control', 0, key, control);
    }
    // One-sided keys (missing, extra) have no counterpart to differ from.
    await buffer(id, 'live', 0, 'only-live', 1);
    await buffer(id, 'candidate', 0, 'only-candidate', 2);
    // Window 1: key a again, now misrouted: keys align within their window.
    await buffer(id, 'live', 1, 'a', 0);
    await buffer(id, 'candidate', 1, 'a', 1);
    // Window 2 is not closing.
    await buffer(id, 'live', 2, 'z', 0);
    await buffer(id, 'candidate', 2, 'z', 1);
    expect(await misroutedCounts(connection, id, [0, 1], 'last')).toEqual({ live: 4, candidate: 3, control: 2 });
    expect(await misroutedCounts(connection, id, [2], 'last')).toEqual({ live: 1, candidate: 1 });
  });

  it('follows the duplicates rule: the record a side keeps is the one whose partition counts', async () => {
    const id = 'duplicates';
    await buffer(id, 'live', 0, 'k', 0);
    // The candidate's first record of k is on live's partition, its last on another.
    await buffer(id, 'candidate', 0, 'k', 0);
    await buffer(id, 'candidate', 0, 'k', 1);
    expect(await misroutedCounts(connection, id, [0], 'first')).toEqual({});
    expect(await misroutedCounts(connection, id, [0], 'last')).toEqual({ live: 1, candidate: 1 });
    expect(await misroutedCounts(connection, 'nothing-buffered', [0], 'last')).toEqual({});
  });
});

describe('closing windows with held records', () => {
  const config = parseComparison({
    id: 'held',
    live: { simulate: {} },
    candidate: { simulate: {} },
    control: { simulate: {} },
    key: ['id'],
    time: { field: 'at' },
    window: { size: '1m', allowedLateness: '0s' },
  });
  const TEXTS = ['{"id":1,"v":1}', '{"id":1,"v":2}', '{"id":1, "v":1}', '{"id":1,"v":1.0}'];
  const SIDES = ['live', 'candidate', 'control'] as const;

  /**
   * Generated records: a few keys over two windows, each side bringing a key's record once most
   * often, sometimes not at all or twice, mostly the same text.
   */
  const sideRecords = fc.oneof(
    { weight: 6, arbitrary: fc.constant(1) },
    { weight: 1, arbitrary: fc.constant(0) },
    { weight: 1, arbitrary: fc.constant(2) },
  );
  const recordArbitrary = fc.record({
    text: fc.constantFrom(TEXTS[0]!, TEXTS[0]!, TEXTS[0]!, ...TEXTS),
    partition: fc.constantFrom(0, 0, 0, 1),
    // Keyed by DuckDB rather than where the source ran (e.g. a text with a byte order mark).
    unkeyed: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
  });
  const recordsArbitrary = fc
    .array(
      fc.record({
        w: fc.constantFrom(0, 60_000),
        k: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'),
        live: fc.tuple(recordArbitrary, recordArbitrary),
        candidate: fc.tuple(recordArbitrary, recordArbitrary),
        control: fc.tuple(recordArbitrary, recordArbitrary),
        counts: fc.tuple(sideRecords, sideRecords, sideRecords),
      }),
      { maxLength: 12 },
    )
    .map((keys) =>
      keys.flatMap(({ w, k, counts, ...sides }) =>
        SIDES.flatMap((side, i) => sides[side].slice(0, counts[i]).map((record) => ({ side, w, k, ...record }))),
      ),
    );

  const held = (record: { side: Side; w: number; k: string; text: string; partition: number }, i: number) => ({
    side: record.side,
    w: record.w,
    k: record.k,
    texts: Buffer.from(record.text),
    start: 0,
    end: Buffer.byteLength(record.text),
    seq: i + 1,
    source: `orders.${record.side}/${record.partition}`,
    position: i,
    eventTime: record.w,
    replay: false,
  });

  it('gives the outcomes, counts, samples and misrouted counts of the engine over every record', async () => {
    const byWindow = (a: [number, unknown], b: [number, unknown]) => a[0] - b[0];
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        recordsArbitrary,
        fc.boolean(),
        fc.constantFrom('first', 'last'),
        async (records, cluster, duplicates) => {
          const spec = { ...diffSpecOf({ ...config, duplicates }, 5), samplingRate: 1 };
          const results = [];
          for (const holding of [false, true]) {
            const id = `held-${++run}`;
            const pairs = new OpenPairs({ sides: SIDES, samePartition: cluster, maxBytes: 2 ** 30 });
            const buffered = [];
            for (const [i, record] of records.entries()) {
              const copy = held(record, i);
              if (!holding || record.unkeyed || !pairs.hold(copy)) buffered.push(copy);
            }
            await writeHeldRecords(connection, id, buffered);
            const closed = await diffWindows(connection, id, [0, 60_000], spec, true, pairs, cluster);
            const { diffSeconds, ...rest } = closed;
            results.push(
              JSON.parse(
                JSON.stringify({
                  ...rest,
                  windows: [...rest.candidate.windows].sort(byWindow),
                  controlWindows: [...(rest.control?.windows ?? [])].sort(byWindow),
                }),
              ),
            );
            expect(pairs.bytes).toBe(0);
          }
          expect(results[1]).toEqual(results[0]);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('settles only keys with one byte-identical record on every side, and spills the oldest window past its bound', async () => {
    const pairs = new OpenPairs({ sides: ['live', 'candidate'], samePartition: false, maxBytes: 70 });
    const record = (side: Side, w: number, k: string, text: string, i: number) =>
      held({ side, w, k, text, partition: 0 }, i);
    expect(pairs.hold(record('live', 0, 'a', TEXTS[0]!, 0))).toBe(true);
    expect(pairs.hold(record('candidate', 0, 'a', TEXTS[0]!, 1))).toBe(true);
    expect(pairs.hold(record('live', 0, 'b', TEXTS[0]!, 2))).toBe(true);
    expect(pairs.hold(record('candidate', 0, 'b', TEXTS[2]!, 3))).toBe(true);
    expect(pairs.spillOverflow()).toEqual([]);
    expect(pairs.hold(record('live', 60_000, 'a', TEXTS[0]!, 4))).toBe(true);
    // Five texts of 14–15 bytes: past 70, window 0 goes to the buffer table, and takes no more.
    const spilled = pairs.spillOverflow();
    expect(spilled.map((r) => [r.w, r.k, r.side])).toEqual([
      [0, 'a', 'live'],
      [0, 'a', 'candidate'],
      [0, 'b', 'live'],
      [0, 'b', 'candidate'],
    ]);
    expect(pairs.holds(0)).toBe(false);
    expect(pairs.hold(record('candidate', 0, 'c', TEXTS[0]!, 5))).toBe(false);
    expect(pairs.hold(record('candidate', 60_000, 'a', TEXTS[0]!, 6))).toBe(true);
    expect(await pairs.take([60_000], new Set())).toEqual({ settled: new Map([[60_000, 1]]), rest: [] });
    expect(pairs.bytes).toBe(0);
  });
});

/** Buffers `doc` as a record of window `w` keyed `id`, its text hashed as ingest hashes it. */
async function bufferDoc(comparison: string, side: string, w: number, doc: Record<string, unknown>): Promise<void> {
  seq++;
  const text = literal(JSON.stringify(doc));
  await connection.run(
    `INSERT INTO ${BUFFER} VALUES (${literal(comparison)}, ${literal(side)}, ${w}, ${literal(JSON.stringify([doc.id]))},
       ${seq}, 'file', ${seq}, ${text}, ${textHash(text)}, 'buffered', NULL, ${w}, 0)`,
  );
}

describe('held records in bulk', () => {
  it('takes and spills a window of 300,000 records, one key thousands of times over', async () => {
    const texts = Buffer.from('{"id":1}');
    const record = (i: number, side: Side) => ({
      ...{ side, w: 0, k: i % 2 === 0 ? 'same' : `k${i}`, texts, start: 0, end: texts.length },
      ...{ seq: i + 1, source: 't/0', position: i, eventTime: 0, replay: false },
    });
    const pairs = new OpenPairs({ sides: ['live', 'candidate'], samePartition: false, maxBytes: 2 ** 30 });
    for (let i = 0; i < 300_000; i++) pairs.hold(record(i, 'live'));
    const taken = await pairs.take([0], new Set());
    expect({ settled: taken.settled.size, rest: taken.rest.length }).toEqual({ settled: 0, rest: 300_000 });
    const small = new OpenPairs({ sides: ['live', 'candidate'], samePartition: false, maxBytes: 1000 });
    for (let i = 0; i < 300_000; i++) small.hold(record(i, 'candidate'));
    expect(small.spillOverflow().length).toBe(300_000);
    expect(small.bytes).toBe(0);
  });
});

describe('window diffs where the typed rows settle no pair', () => {
  const unheld = () => new OpenPairs({ sides: ['live', 'candidate'], samePartition: false, maxBytes: 2 ** 30 });
  const spec = {
    ...diffSpecOf(
      parseComparison({
        id: 'settle',
        live: { file: { path: 'unused' } },
        candidate: { file: { path: 'unused' } },
        key: ['id'],
        time: { field: 't' },
        window: { size: '10s' },
      }),
      5,
    ),
    samplingRate: 1,
  };

  it('skip that step from the next diff on, with the same results', async () => {
    // Every record differs in a noise field (`run`), a fifth also in `amount`: no pair is equal as typed rows.
    const id = 'noise-everywhere';
    for (const w of [0, 10_000, 20_000]) {
      for (let i = 0; i < 50; i++) {
        const doc = { id: `o-${w + i}`, t: w + i, amount: i / 4 };
        await bufferDoc(id, 'live', w, { ...doc, run: `live-${i}` });
        await bufferDoc(id, 'candidate', w, { ...doc, amount: i % 5 === 0 ? i : doc.amount, run: `cand-${i}` });
      }
    }
    const choices = { candidate: new SettleChoice(), control: new SettleChoice() };
    const first = await diffWindows(connection, id, [0], spec, false, unheld(), false, choices);
    expect(first.candidate.settle).toEqual({ tried: true, pending: 50, settled: 0 });
    for (const w of [10_000, 20_000]) {
      const skipped = await diffWindows(connection, id, [w], spec, false, unheld(), false, choices);
      const settled = await diffWindows(connection, id, [w], spec, false, unheld());
      expect(skipped.candidate.settle).toEqual({ tried: false, pending: 50, settled: 0 });
      expect(settled.candidate.settle.tried).toBe(true);
      const { settle: _a, ...withoutSettle } = skipped.candidate;
      const { settle: _b, ...expected } = settled.candidate;
      expect(withoutSettle).toEqual(expected);
      expect(skipped.candidate.different).toBe(50);
      // i = 5, 10, … 45: amount i instead of i / 4 (i = 0 is 0 either way).
      expect(Object.fromEntries(skipped.candidate.fields.map((f) => [f.path, f.different]))).toEqual({
        amount: 9,
        run: 50,
      });
    }
  });

  it('keeps settling where it settles most pairs', async () => {
    // Texts differ in spelling only (member order): equal as typed rows.
    const id = 'spelling';
    for (const w of [0, 10_000]) {
      for (let i = 0; i < 20; i++) {
        await bufferDoc(id, 'live', w, { id: `o-${w + i}`, t: w + i, amount: i });
        await bufferDoc(id, 'candidate', w, { amount: i, t: w + i, id: `o-${w + i}` });
      }
    }
    const choices = { candidate: new SettleChoice(), control: new SettleChoice() };
    for (const w of [0, 10_000]) {
      const closed = await diffWindows(connection, id, [w], spec, false, unheld(), false, choices);
      expect(closed.candidate.settle).toEqual({ tried: true, pending: 20, settled: 20 });
      expect(closed.candidate.equal).toBe(20);
    }
  });
});
