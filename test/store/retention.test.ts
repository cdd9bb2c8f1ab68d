import type { DuckDBConnection } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import { connect, openDatabase, queryRows } from '../../src/store/duckdb.js';
import { applyRetention } from '../../src/store/retention.js';
import { BUFFER, createSchema } from '../../src/store/schema.js';
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
    await connection.run(`INSERT INTO comparisons VALUES ('c', '{}', 2, now(), now(), NULL, NULL)`);
    await connection.run(
      `INSERT INTO ${BUFFER} VALUES ('c', 'live', ${OLD}, 'a', 1, 't/0', 1, '{}', 0, 'buffered', NULL, 0, 0)`,
    );
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

    for (const table of ['windows', 'window_fields', 'window_fieldsets', 'samples', 'dead_letters', BUFFER]) {
      expect(await count(connection, table), table).toBe(1);
    }
    connection.closeSync();
    instance.closeSync();
  });
});

async function count(connection: DuckDBConnection, table: string): Promise<number> {
  return Number((await queryRows<{ n: bigint }>(connection, `SELECT count(*) AS n FROM ${table}`))[0]?.n);
}
