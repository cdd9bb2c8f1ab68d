import { afterAll, describe, expect, it } from 'vitest';
import { connect, openDatabase, queryRows } from '../../src/store/duckdb.js';
import { addCountsSql, createSchema } from '../../src/store/schema.js';
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
    await connection.run(
      addCountsSql('close', [{ comparison: 'c', epoch: 1, side: 'live', status: 'buffered', n: -5 }]),
    );

    const rows = await queryRows<{ status: string; writer: string; n: bigint }>(
      connection,
      'SELECT status, writer, n FROM record_counts ORDER BY status, writer',
    );
    expect(rows.map((row) => [row.status, row.writer, Number(row.n)])).toEqual([
      ['buffered', 'close', -5],
      ['buffered', 'ingest', 5],
      ['late', 'ingest', 2],
    ]);
    connection.closeSync();
    instance.closeSync();
  });

  it('gives the buffered records of a file written before text hashes their hash', async () => {
    const instance = await openDatabase({ path: `${files.dir}/old-buffer.duckdb` });
    const connection = await connect(instance);
    await connection.run(
      `CREATE TABLE buffer (comparison VARCHAR NOT NULL, side VARCHAR NOT NULL, w BIGINT NOT NULL, k VARCHAR NOT NULL,
         seq BIGINT NOT NULL, source VARCHAR NOT NULL, position BIGINT NOT NULL, doc VARCHAR NOT NULL)`,
    );
    await connection.run(`INSERT INTO buffer VALUES ('c', 'live', 0, 'a', 1, 't/0', 1, '{"a":1}')`);

    await createSchema(connection);

    const rows = await queryRows<{ same: boolean; n: bigint }>(
      connection,
      'SELECT bool_and(rh = hash(doc)) AS same, count(*) AS n FROM buffer',
    );
    expect(rows.map((row) => [row.same, Number(row.n)])).toEqual([[true, 1]]);
    connection.closeSync();
    instance.closeSync();
  });

  it('lets ingest and window close add to one side and status in transactions at once', async () => {
    const instance = await openDatabase({ path: `${files.dir}/concurrent.duckdb` });
    const [ingest, close] = [await connect(instance), await connect(instance)];
    await createSchema(ingest);
    const delta = { comparison: 'c', epoch: 1, side: 'live', status: 'buffered' };
    for (const connection of [ingest, close]) await connection.run('BEGIN TRANSACTION');
    await ingest.run(addCountsSql('ingest', [{ ...delta, n: 10 }]));
    await close.run(addCountsSql('close', [{ ...delta, n: -4 }]));
    for (const connection of [close, ingest]) await connection.run('COMMIT');

    const [row] = await queryRows<{ n: bigint }>(ingest, 'SELECT sum(n) AS n FROM record_counts');
    expect(Number(row?.n)).toBe(6);
    ingest.closeSync();
    close.closeSync();
    instance.closeSync();
  });
});
