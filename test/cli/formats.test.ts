import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writePythonFixtures } from '../helpers/python.js';
import { tempDir } from '../helpers/tmp.js';

const CLI = new URL('../../dist/cli/main.js', import.meta.url).pathname;
const ORDERS = 400;
const TIMESTAMPS = ['placed_at', 'shipped_at', 'local_at'];

const files = tempDir('shadowdiff-formats-');
afterAll(() => files.remove());

let config: string;
beforeAll(async () => {
  // The same orders as pyarrow Parquet, fastavro Avro (twice: decimal(10,2) bytes and millis, then
  // decimal(12,4) fixed and micros) and Python json NDJSON with ISO-8601 timestamps.
  await writePythonFixtures('orders.py', files.dir, String(ORDERS));
  config = files.write(
    'shadowdiff.yaml',
    `comparisons:
  - id: formats
    live: {file: {path: unused}}
    candidate: {file: {path: unused}}
    key: [order_id]
    compare:
      timestamps: {paths: [${TIMESTAMPS.join(', ')}]}
    verdict: {tolerance: 0.05, minSamples: 100}
  - id: windowed
    live: {file: {path: unused}}
    candidate: {file: {path: unused}}
    key: [order_id]
    time: {field: shipped_at}
    window: {size: 1h}
    compare:
      timestamps: {paths: [${TIMESTAMPS.join(', ')}]}
    verdict: {tolerance: 0.05, minSamples: 100}
  - id: no-timestamp-rule
    live: {file: {path: unused}}
    candidate: {file: {path: unused}}
    key: [order_id]
    verdict: {tolerance: 0.05, minSamples: 100}
`,
  );
});

function diff(live: string, candidate: string, comparison = 'formats') {
  const run = spawnSync(
    process.execPath,
    [
      CLI,
      'diff',
      '--live',
      `${files.dir}/${live}`,
      '--candidate',
      `${files.dir}/${candidate}`,
      '--config',
      config,
      '--comparison',
      comparison,
      '--json',
    ],
    { encoding: 'utf8' },
  );
  return { code: run.status, stderr: run.stderr, body: run.stdout && JSON.parse(run.stdout) };
}

describe('the same records from pyarrow, fastavro and Python json', () => {
  it.each([
    ['orders.parquet', 'orders.avro'],
    ['orders.avro', 'orders-rescaled.avro'],
    ['orders.parquet', 'orders-rescaled.avro'],
    ['orders.parquet', 'orders.ndjson'],
    ['orders.avro', 'orders.ndjson'],
    ['orders.ndjson', 'orders-rescaled.avro'],
  ])('%s and %s compare all equal', (live, candidate) => {
    const run = diff(live, candidate);
    expect(run.stderr).toBe('');
    expect(run.body.counts).toMatchObject({ live: ORDERS, candidate: ORDERS, equal: ORDERS, different: 0 });
    expect(run.body.counts).toMatchObject({ invalidLive: 0, invalidCandidate: 0, missing: 0, extra: 0 });
    expect(run.body.fields).toEqual([]);
    expect(run.code).toBe(0);
  });

  it.each([
    ['orders.parquet', 'orders.ndjson'],
    ['orders.avro', 'orders.ndjson'],
  ])('%s and %s put each record in the same event-time window', (live, candidate) => {
    const run = diff(live, candidate, 'windowed');
    expect(run.body.counts).toMatchObject({ equal: ORDERS, different: 0, missing: 0, extra: 0 });
    expect(run.body.counts).toMatchObject({ invalidLive: 0, invalidCandidate: 0 });
  });

  it('needs only the timestamp rule: without it, NDJSON differs in the timestamps alone', () => {
    const run = diff('orders.avro', 'orders.ndjson', 'no-timestamp-rule');
    expect(run.body.counts).toMatchObject({ equal: 0, different: ORDERS });
    expect(run.body.fields.map((f: { path: string; different: number }) => [f.path, f.different]).sort()).toEqual(
      TIMESTAMPS.map((path) => [path, ORDERS]).sort(),
    );
    // Parquet and Avro spell timestamps alike, so they need no rule.
    expect(diff('orders.parquet', 'orders-rescaled.avro', 'no-timestamp-rule').body.counts).toMatchObject({
      equal: ORDERS,
    });
  });
});
