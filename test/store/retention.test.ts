import { afterAll, describe, expect, it } from 'vitest';
import { connect, openDatabase, queryRows } from '../../src/store/duckdb.js';
import { applyRetention } from '../../src/store/retention.js';
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
  it('deletes results, samples and dead letters made before it, and counts expired buffered records late', async () => {
    const instance = await openDatabase({ path: `${files.dir}/retention.duckdb` });
    const connection = await connect(instance);
    await createSchema(connection);
    await connection.run(`INSERT INTO comparisons VALUES ('c', '{}', 2, now(), now(), NULL)`);
    // A side that stopped left two live records in an old window; one live record is in a recent one.
    await connection.run(
      `INSERT INTO buffer VALUES ('c', 'live', ${OLD}, 'a', 1, 't/0', 1, '{}', 0), ('c', 'live', ${OLD}, 'b', 2, 't/0', 2, '{}', 0),
         ('c', 'live', ${RECENT}, 'c', 3, 't/0', 3, '{}', 0)`,
    );
    await connection.run(`INSERT INTO record_counts VALUES ('c', 2, 'live', 'buffered', 'ingest', 3)`);
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

    const count = async (table: string) =>
      Number((await queryRows<{ n: bigint }>(connection, `SELECT count(*) AS n FROM ${table}`))[0]?.n);
    expect(await count('buffer')).toBe(1);
    for (const table of ['windows', 'window_fields', 'window_fieldsets', 'samples', 'dead_letters']) {
      expect(await count(table), table).toBe(1);
    }
    const counts = await queryRows<{ status: string; n: bigint }>(
      connection,
      `SELECT status, sum(n) AS n FROM record_counts WHERE comparison = 'c' AND epoch = 2 GROUP BY status ORDER BY status`,
    );
    expect(counts.map((row) => [row.status, Number(row.n)])).toEqual([
      ['buffered', 1],
      ['late', 2],
    ]);
    connection.closeSync();
    instance.closeSync();
  });
});
