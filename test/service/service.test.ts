import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../src/api/server.js';
import { parseConfig } from '../../src/config/load.js';
import { Service, storageThreads } from '../../src/service/service.js';
import { finalCounts, streamTruth, truthComparison } from '../helpers/stream-data.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

const files = tempDir();
afterAll(() => files.remove());

const silent = pino({ level: 'silent' });

function serviceConfig(name: string, live: string, candidate: string, extra: Record<string, unknown> = {}) {
  return parseConfig({
    server: { adminToken: 'secret-token' },
    storage: { path: `${files.dir}/${name}.duckdb` },
    comparisons: [truthComparison('orders-v2', live, candidate, extra)],
  });
}

describe('storage threads', () => {
  it('leave one core to the event loop and the source threads, unless set', () => {
    const { storage } = parseConfig({});
    expect(storageThreads(storage, 2)).toBe(1);
    expect(storageThreads(storage, 1)).toBe(1);
    expect(storageThreads(storage, 8)).toBe(7);
    expect(storageThreads({ ...storage, threads: 4 }, 2)).toBe(4);
  });
});

describe('service over file sources', () => {
  const truth = streamTruth();
  const live = files.write('live.ndjson', `${truth.live.join('\n')}\n`);
  const candidate = files.write('candidate.ndjson', `${truth.candidate.join('\n')}\n`);

  it('closes every window at end of input and counts exactly', async () => {
    const service = await Service.start(serviceConfig('exact', live, candidate), silent);
    try {
      const runner = service.get('orders-v2')!;
      await waitFor(() => runner.verdict().complete, 30_000);
      const summary = await runner.summary();
      expect(summary.counts).toMatchObject(finalCounts(truth));
      expect(summary.fields).toEqual([
        {
          path: 'amount',
          different: truth.expected.different,
          kinds: { value: truth.expected.different, type: 0, missing: 0, extra: 0 },
        },
      ]);
      expect(summary.windows).toEqual({ open: 0, closed: truth.expected.windows });
      expect(summary.watermarks).toEqual({ live: 'end', candidate: 'end' });
      expect(runner.verdict().verdict).toBe('FAIL');

      const app = buildServer({
        registry: service,
        adminToken: 'secret-token',
        metrics: { contentType: service.promRegistry.contentType, render: () => service.promRegistry.metrics() },
        logger: false,
      });
      const verdict = await app.inject({ url: '/v1/comparisons/orders-v2/verdict' });
      expect(verdict.statusCode).toBe(200);
      expect(verdict.json().verdict).toBe('FAIL');
      expect(
        (await app.inject({ method: 'POST', url: '/v1/comparisons/orders-v2/gate/promote', payload: {} })).statusCode,
      ).toBe(409);
      const windows = await app.inject({ url: '/v1/comparisons/orders-v2/windows?limit=2' });
      expect(windows.json().total).toBe(truth.expected.windows);
      expect(windows.json().items).toHaveLength(2);
      const samples = await app.inject({ url: '/v1/comparisons/orders-v2/samples?field=amount&limit=3' });
      expect(samples.json().items.length).toBeGreaterThan(0);
      const metrics = (await app.inject({ url: '/metrics' })).body;
      expect(metrics).toContain(
        `shadowdiff_outcomes_total{comparison="orders-v2",outcome="different"} ${truth.expected.different}`,
      );
      expect(metrics).toContain(
        `shadowdiff_records_total{comparison="orders-v2",side="candidate",status="duplicate"} ${truth.expected.duplicateCandidate}`,
      );
      expect(metrics).toContain('shadowdiff_verdict_code{comparison="orders-v2"} -1');
      await app.close();
    } finally {
      await service.stop();
    }
  });

  it('resumes after a stop without losing or double-counting a record', async () => {
    const config = serviceConfig('resume', live, candidate, {
      live: { file: { path: live, ratePerSecond: 1000 } },
      candidate: { file: { path: candidate, ratePerSecond: 1000 } },
    });
    const first = await Service.start(config, silent);
    // Stop once some records are durable, however slow the machine: a fixed wait saw none under load.
    let before = 0;
    await waitFor(
      async () => {
        const { counts } = await first.get('orders-v2')!.summary();
        // Valid records taken, those still buffered in open windows included.
        before = counts.live;
        return before > 0;
      },
      30_000,
      'a first durable batch',
    );
    await first.stop();
    expect(before).toBeLessThan(truth.live.length - truth.expected.invalidLive);
    const second = await Service.start(config, silent);
    try {
      const runner = second.get('orders-v2')!;
      await waitFor(() => runner.verdict().complete, 30_000);
      const summary = await runner.summary();
      expect(summary.counts).toMatchObject(finalCounts(truth));
    } finally {
      await second.stop();
    }
  });
});

describe('service over texts whose DuckDB hash() is one', () => {
  it('counts a changed record different even when hash() of both texts is the same', async () => {
    // DuckDB's hash() maps these two texts to one value: a text hash must not decide equality.
    const live = files.write('collide-live.ndjson', '{"id":1,"v":1073,"w":100,"t":0}\n');
    const candidate = files.write('collide-candidate.ndjson', '{"id":1,"v":1078,"w":107,"t":0}\n');
    const service = await Service.start(serviceConfig('collide', live, candidate), silent);
    try {
      const runner = service.get('orders-v2')!;
      await waitFor(() => runner.verdict().complete, 30_000, 'complete');
      expect((await runner.summary()).counts).toMatchObject({ equal: 0, different: 1 });
    } finally {
      await service.stop();
    }
  });
});

describe('service over hostile JSON files', () => {
  it('counts and compares as batch does: exact numbers, keys by value, last members, NaN, invalid with reasons', async () => {
    const big = 2n ** 60n;
    const nested = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    const live = files.write(
      'hostile-live.ndjson',
      [
        '\ufeff{"id":1,"t":0,"v":1}',
        `{"id":2,"t":0,"v":${big}}`,
        '{"id":12,"t":0,"v":1}',
        '{"id":"7","t":0,"v":1}',
        '{"id":0,"id":5,"t":0,"v":1}',
        '{"id":6,"t":0,"v":NaN}',
        `{"id":8,"t":0,"v":${nested(600)}}`,
        `{"id":9,"t":0,"v":"${'x'.repeat(200_000)}"}`,
      ].join('\n'),
    );
    const candidate = files.write(
      'hostile-candidate.ndjson',
      [
        '{"id":1,"t":0,"v":1}',
        `{"id":2,"t":0,"v":${big + 1n}}`,
        ...['12.0', '7', '5', '6', '8', '9'].map((id) => `{"id":${id},"t":0,"v":1}`),
      ].join('\n'),
    );
    const config = serviceConfig('hostile', live, candidate, {
      maxMessageBytes: 100_000,
      verdict: { tolerance: 0.5, minSamples: 1 },
    });
    const service = await Service.start(config, silent);
    try {
      const runner = service.get('orders-v2')!;
      await waitFor(() => runner.verdict().complete, 30_000);
      const summary = await runner.summary();
      expect(summary.counts).toMatchObject({
        live: 6,
        candidate: 8,
        invalidLive: 2,
        invalidCandidate: 0,
        equal: 3,
        different: 2,
        missing: 1,
        extra: 3,
      });
      const app = buildServer({
        registry: service,
        adminToken: 'secret-token',
        metrics: { contentType: service.promRegistry.contentType, render: () => service.promRegistry.metrics() },
        logger: false,
      });
      const samples = await app.inject({ url: '/v1/comparisons/orders-v2/samples?field=v&limit=3' });
      expect(samples.body).toContain(`"live":${big},"candidate":${big + 1n}`);
      const invalid = await app.inject({ url: '/v1/comparisons/orders-v2/samples?outcome=invalid&limit=10' });
      expect(
        invalid
          .json()
          .items.map((s: { reason: string }) => s.reason)
          .sort(),
      ).toEqual(['oversized', 'too_deep']);
      await app.close();
    } finally {
      await service.stop();
    }
  });
});
