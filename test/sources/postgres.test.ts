import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDiffCommand } from '../../src/cli/diff.js';
import { parseComparison } from '../../src/config/load.js';
import { runBatchDiff } from '../../src/diff/batch.js';
import { unescapeCopyText } from '../../src/sources/postgres.js';
import { type RunningPostgres, startPostgres } from '../helpers/postgres.js';
import { tempDir } from '../helpers/tmp.js';

const files = tempDir('shadowdiff-pg-files-');
let server: RunningPostgres;
const env = process.env;

/** 500 orders; the table changes 9 amounts, lacks 4 orders and has 6 more. */
const N = 500;
const changed = new Set([3, 77, 150, 151, 222, 300, 301, 420, 499]);
const lacking = new Set([0, 10, 250, 498]);
const order = (id: number) => ({
  id,
  customer: `c${id % 37}`,
  // Exact digits a double cannot hold, and a scale the table pads with zeros (1.5 → 1.5000).
  amount: id % 2 ? `12345678901234567.${String(id).padStart(4, '0')}` : `${id}.5`,
  ratio: id / 8,
  at: `2026-12-01T${String(id % 24).padStart(2, '0')}:00:00+00:00`,
  meta: { b: [id, 'x'], a: { deep: id % 3 === 0 } },
  tags: id % 5 ? ['a', `t${id % 5}`] : [],
  note: id % 4 ? `n${id}` : null,
});

beforeAll(async () => {
  server = await startPostgres();
  await server.query(`CREATE SCHEMA shop;
    CREATE TABLE shop.orders (id bigint PRIMARY KEY, customer text, amount numeric(30,4), ratio float8,
      at timestamptz, meta jsonb, tags text[], note text)`);
  for (let id = 0; id < N + 6; id++) {
    if (lacking.has(id) || id >= N + 6) continue;
    const row = order(id >= N ? 1000 + id : id);
    await server.query('INSERT INTO shop.orders VALUES ($1, $2, $3, $4, $5, $6, $7, $8)', [
      row.id,
      row.customer,
      changed.has(id) ? '-1' : row.amount,
      row.ratio,
      row.at,
      JSON.stringify(row.meta),
      row.tags,
      row.note,
    ]);
  }
  process.env.SD_TEST_PG_PASSWORD = server.password;
}, 180_000);

afterAll(async () => {
  delete process.env.SD_TEST_PG_PASSWORD;
  await server?.stop();
  files.remove();
});

const liveFile = () =>
  files.write(
    'live.ndjson',
    Array.from({ length: N }, (_, id) => {
      const { amount, ...rest } = order(id);
      // The number's text as written, not a double: JSON.stringify would round it.
      return JSON.stringify({ ...rest, amount: 0 }).replace('"amount":0', `"amount":${amount}`);
    }).join('\n'),
  );

const comparison = (sides: Record<string, unknown> = {}) =>
  parseComparison({
    id: 'pg',
    live: { file: { path: 'unused' } },
    candidate: { file: { path: 'unused' } },
    key: ['id'],
    verdict: { tolerance: 0.5, minSamples: 1 },
    ...sides,
  });

describe('PostgreSQL as a side', () => {
  it('unescapes COPY text', () => {
    expect(unescapeCopyText('{"a":"x\\\\"y\\\\n"}\\tz')).toBe('{"a":"x\\"y\\n"}\tz');
  });

  it('diffs a table against NDJSON: numeric, timestamptz, jsonb, arrays and NULL compare as JSON', async () => {
    env.PGPASSWORD = server.password;
    try {
      const result = await runBatchDiff(
        comparison(),
        { live: liveFile(), candidate: `${server.url}?table=shop.orders` },
        { samples: 20 },
      );
      expect(result.counts).toMatchObject({
        live: N,
        candidate: N - lacking.size + 6,
        equal: N - lacking.size - changed.size,
        different: changed.size,
        missing: lacking.size,
        extra: 6,
        invalidCandidate: 0,
      });
      expect(result.fields.map((f) => [f.path, f.different])).toEqual([['amount', changed.size]]);
      const sample = result.samples.find((s) => s.outcome === 'different' && s.key === '77');
      // Exact digits both ways: JSON.rawJSON numbers, as every exact input gives them.
      expect([JSON.stringify(sample?.live), JSON.stringify(sample?.candidate)]).toEqual([
        '12345678901234567.0077',
        '-1.0000',
      ]);
      expect(sample?.position?.candidate).toMatch(
        new RegExp(`^postgres://shadowdiff@127\\.0\\.0\\.1:${server.port}/postgres\\?table=shop\\.orders#\\d+$`),
      );
    } finally {
      delete env.PGPASSWORD;
    }
  });

  it('reads a query from the config, the password from the variable it names', async () => {
    const config = files.write(
      'pg.yaml',
      JSON.stringify({
        comparisons: [
          {
            id: 'pg',
            live: {
              postgres: {
                url: server.url,
                sql: 'SELECT * FROM shop.orders WHERE id < 250',
                passwordEnv: 'SD_TEST_PG_PASSWORD',
              },
            },
            candidate: {
              postgres: {
                url: server.url,
                sql: 'SELECT id, customer, amount, ratio, at, meta, tags, note FROM shop.orders WHERE id < 300 ORDER BY id DESC',
                passwordEnv: 'SD_TEST_PG_PASSWORD',
              },
            },
            key: ['id'],
            verdict: { tolerance: 0.5, minSamples: 1 },
          },
        ],
      }),
    );
    let out = '';
    const io = {
      stdout: { isTTY: false, write: (text: string) => (out += text) },
      stderr: { isTTY: false, write: () => true },
    } as unknown as Parameters<typeof runDiffCommand>[1];
    expect(await runDiffCommand({ config, json: true, samples: 5 }, io)).toBe(0);
    const result = JSON.parse(out);
    const inLive = [...Array(250).keys()].filter((id) => !lacking.has(id)).length;
    const inCandidate = [...Array(300).keys()].filter((id) => !lacking.has(id)).length;
    expect(result.counts).toMatchObject({
      live: inLive,
      candidate: inCandidate,
      equal: inLive,
      different: 0,
      missing: 0,
      extra: inCandidate - inLive,
    });
  });

  it('never prints the password: refused in the URL, absent from errors', async () => {
    const withPassword = `postgres://shadowdiff:${server.password}@127.0.0.1:${server.port}/postgres?table=shop.orders`;
    const refused = runBatchDiff(comparison(), { live: liveFile(), candidate: withPassword }, { samples: 1 });
    await expect(refused).rejects.toMatchObject({ code: 'SD_CONFIG_INVALID' });
    await refused.catch((error: Error) => expect(error.message).not.toContain(server.password));

    env.PGPASSWORD = `${server.password}-wrong`;
    try {
      const wrong = runBatchDiff(
        comparison(),
        { live: liveFile(), candidate: `${server.url}?table=shop.orders` },
        { samples: 1 },
      );
      await expect(wrong).rejects.toMatchObject({
        code: 'SD_INPUT_UNREADABLE',
        message: expect.stringContaining('password authentication failed'),
      });
      await wrong.catch((error: Error) => expect(error.message).not.toContain(server.password));
    } finally {
      delete env.PGPASSWORD;
    }
  });
});
