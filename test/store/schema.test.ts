import { afterAll, describe, expect, it } from 'vitest';
import { connect, openDatabase, queryRows } from '../../src/store/duckdb.js';
import { addCountsSql, BUFFER, createSchema } from '../../src/store/schema.js';
import { tempDir } from '../helpers/tmp.js';

const files = tempDir();
afterAll(() => files.remove());

describe('schema', () => {
  it('gives the counts of a file written before count writers to ingest, keeping every row', async () => {
    const instance = await openDatabase({ path: `${files.dir}/old.duckdb` });
    const connection = await connect(instance);
    await connection.run(
      `CREATE TABLE record_counts (comparison VARCHAR NOT NULL, epoch INTEGER NOT NULL, side VARCHAR NOT NULL,
         status VARCHAR NOT NULL, n BIGINT NOT NULL, PRIMARY KEY (comparison, epoch, side, status))`,
    );
    await connection.run(
      `INSERT INTO record_counts VALUES ('c', 1, 'live', 'buffered', 5), ('c', 1, 'live', 'late', 2)`,
    );

    await createSchema(connection);
    await createSchema(connection);
    await connection.run(addCountsSql([{ comparison: 'c', epoch: 1, side: 'live', status: 'buffered', n: -5 }]));

    const rows = await queryRows<{ status: string; writer: string; n: bigint }>(
      connection,
      'SELECT status, writer, n FROM record_counts ORDER BY status, writer',
    );
    expect(rows.map((row) => [row.status, row.writer, Number(row.n)])).toEqual([
      ['buffered', 'checkpoint', -5],
      ['buffered', 'ingest', 5],
      ['late', 'ingest', 2],
    ]);
    connection.closeSync();
    instance.closeSync();
  });

  it('resumes each partition of a file that kept buffers on disk at its first buffered record, and drops that buffer', async () => {
    const instance = await openDatabase({ path: `${files.dir}/old-buffer.duckdb` });
    const connection = await connect(instance);
    await connection.run(
      `CREATE TABLE buffer (comparison VARCHAR NOT NULL, side VARCHAR NOT NULL, w BIGINT NOT NULL, k VARCHAR NOT NULL,
         seq BIGINT NOT NULL, source VARCHAR NOT NULL, position BIGINT NOT NULL, doc VARCHAR NOT NULL, rh UBIGINT)`,
    );
    await connection.run(
      `CREATE TABLE positions (comparison VARCHAR NOT NULL, side VARCHAR NOT NULL, source VARCHAR NOT NULL,
         position BIGINT NOT NULL, max_event_time BIGINT, PRIMARY KEY (comparison, side, source))`,
    );
    await connection.run(
      `INSERT INTO buffer VALUES ('c', 'live', 0, 'a', 1, 't/0', 7, '{}', 0), ('c', 'live', 0, 'b', 2, 't/0', 9, '{}', 0),
         ('c', 'live', 60000, 'c', 3, 't/1', 4, '{}', 0)`,
    );
    await connection.run(`INSERT INTO positions VALUES ('c', 'live', 't/0', 12, 5), ('c', 'live', 't/1', 4, 5),
      ('c', 'live', 't/2', 30, 5)`);

    await createSchema(connection);
    await createSchema(connection);

    const rows = await queryRows<{ source: string; position: bigint; resume: bigint | null; buffered: bigint | null }>(
      connection,
      'SELECT source, position, resume, buffered FROM positions ORDER BY source',
    );
    expect(rows.map((row) => [row.source, Number(row.position), row.resume, row.buffered])).toEqual([
      ['t/0', 12, 7n, 2n],
      ['t/1', 4, 4n, 1n],
      // Nothing buffered: it resumes after its counted-through position (`restoreComparison`).
      ['t/2', 30, null, null],
    ]);
    const tables = await queryRows<{ name: string }>(
      connection,
      `SELECT database_name || '.' || table_name AS name FROM duckdb_tables() WHERE table_name = 'buffer'`,
    );
    expect(tables.map((table) => table.name)).toEqual([BUFFER]);
    connection.closeSync();
    instance.closeSync();
  });
});
