import type { DuckDBConnection } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import { connect, openDatabase, queryRows } from '../../src/store/duckdb.js';
import { applyRetention, expireBuffered } from '../../src/store/retention.js';
import { createSchema } from '../../src/store/schema.js';
import { tempDir } from '../helpers/tmp.js';

const files = tempDir();
afterAll(() => files.remove());

const HOUR = 3_600_000;
const NOW = Date.UTC(2026, 5, 1);
const OLD = NOW - 3 * HOUR;
const RECENT = NOW - HOUR / 2;
const at = (ms: number) => `make_timestamptz(${ms * 1000})`;

describe('retention', () => {
  it('deletes results, samples and dead letters made before it, and leaves buffered records alone', async () => {
    const instance = await openDatabase({ path: `${files.dir}/retention.duckdb` });
    const connection = await connect(instance);
    await createSchema(connection);
    await connection.run(`INSERT INTO comparisons VALUES ('c', '{}', 2, now(), now(), NULL)`);
    await connection.run(`INSERT INTO buffer VALUES ('c', 'live', ${OLD}, 'a', 1, 't/0', 1, '{}', 0)`);
    for (const [w, made] of [
      [OLD, OLD],
      [RECENT, RECENT],
    ] as const) {
      await connection.run(`INSERT INTO windows VALUES ('c', 2, ${w}, ${at(made)}, 1, 0, 0, 0, 0, 0.1)`);
      await connection.run(`INSERT INTO window_fields VALUES ('c', 2, ${w}, 'candidate', 'x', 1, 1, 0, 0, 0)`);
      await connection.run(`INSERT INTO window_fieldsets VALUES ('c', 2, ${w}, ['x'], 1)`);
      await connection.run(`INSERT INTO samples VALUES ('c', 2, ${w}, 'different', 'x', '{}', ${at(made)})`);
      await connection.run(`INSERT INTO dead_letters VALUES ('c', 'live', 't/0', ${w}, 'malformed', '{', ${at(made)})`);
    }

    await applyRetention(connection, HOUR, NOW);

    for (const table of ['windows', 'window_fields', 'window_fieldsets', 'samples', 'dead_letters', 'buffer']) {
      expect(await count(connection, table), table).toBe(1);
    }
    connection.closeSync();
    instance.closeSync();
  });

  it("expires one comparison's buffered records of windows before the cutoff, counting them late", async () => {
    const instance = await openDatabase({ path: `${files.dir}/expiry.duckdb` });
    const connection = await connect(instance);
    await createSchema(connection);
    // A side that stopped left two live records and a candidate one in an old window; one live record is in a recent one.
    await connection.run(
      `INSERT INTO buffer VALUES ('c', 'live', ${OLD}, 'a', 1, 't/0', 1, '{}', 0), ('c', 'live', ${OLD}, 'b', 2, 't/0', 2, '{}', 0),
         ('c', 'candidate', ${OLD}, 'a', 3, 'u/0', 1, '{}', 0), ('c', 'live', ${RECENT}, 'c', 4, 't/0', 3, '{}', 0),
         ('d', 'live', ${OLD}, 'a', 1, 'v/0', 1, '{}', 0)`,
    );
    await connection.run(
      `INSERT INTO record_counts VALUES ('c', 2, 'live', 'buffered', 'ingest', 3), ('c', 2, 'candidate', 'buffered', 'ingest', 1)`,
    );

    const expired = await expireBuffered(connection, 'c', 2, NOW - HOUR);

    expect(Object.fromEntries(expired)).toEqual({ live: 2, candidate: 1 });
    expect(await count(connection, 'buffer')).toBe(2);
    const counts = await queryRows<{ side: string; status: string; n: bigint }>(
      connection,
      `SELECT side, status, sum(n) AS n FROM record_counts WHERE comparison = 'c' AND epoch = 2 GROUP BY ALL ORDER BY ALL`,
    );
    expect(counts.map((row) => [row.side, row.status, Number(row.n)])).toEqual([
      ['candidate', 'buffered', 0],
      ['candidate', 'late', 1],
      ['live', 'buffered', 1],
      ['live', 'late', 2],
    ]);
    expect(Object.fromEntries(await expireBuffered(connection, 'c', 2, NOW - HOUR))).toEqual({});
    connection.closeSync();
    instance.closeSync();
  });
});

async function count(connection: DuckDBConnection, table: string): Promise<number> {
  return Number((await queryRows<{ n: bigint }>(connection, `SELECT count(*) AS n FROM ${table}`))[0]?.n);
}
