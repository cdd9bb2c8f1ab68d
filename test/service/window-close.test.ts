import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { literal } from '../../src/diff/sql.js';
import { misroutedCounts } from '../../src/service/window-close.js';
import { connect, openDatabase } from '../../src/store/duckdb.js';
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
