import { createHash, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { samplingThreshold } from '../../src/align/keys.js';
import { parseConfig } from '../../src/config/load.js';
import { Service } from '../../src/service/service.js';
import type { ProduceMessage } from '../../src/sources/kafka/client.js';
import { kafkaFixture } from '../helpers/kafka.js';
import { freePort, getJson, startServe } from '../helpers/serve.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

/** The service against the real broker of test/global-setup.ts. */
const kafka = kafkaFixture('shadowdiff-service-test');
const { brokers } = kafka;
const files = tempDir();

afterAll(async () => {
  files.remove();
});

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const WINDOW_MS = 10_000;

async function topics(partitions = 3): Promise<{ live: string; candidate: string }> {
  const suffix = randomUUID().slice(0, 8);
  const names = { live: `orders.v1-${suffix}`, candidate: `orders.v2-${suffix}` };
  await kafka.admin.createTopics([
    { topic: names.live, partitions },
    { topic: names.candidate, partitions },
  ]);
  return names;
}

interface Ground {
  live: ProduceMessage[];
  candidate: ProduceMessage[];
  expected: { equal: number; different: number; missing: number; extra: number; invalidCandidate: number };
}

/** 6 windows of 10 s: 3,000 orders; the candidate changes 1 in 25, loses 1 in 100, adds 10, and sends 3 malformed messages. */
function orders(count = 3000): Ground {
  const live: ProduceMessage[] = [];
  const candidate: ProduceMessage[] = [];
  let different = 0;
  let missing = 0;
  for (let i = 0; i < count; i++) {
    const t = T0 + i * 20;
    const record = {
      order_id: `o-${i}`,
      event_time: new Date(t).toISOString(),
      amount: i,
      items: [{ sku: `s${i % 9}` }],
    };
    live.push({ key: record.order_id, value: JSON.stringify(record), timestamp: String(t) });
    if (i % 100 === 50) {
      missing++;
      continue;
    }
    const changed = i % 25 === 0 ? { ...record, amount: i + 0.5 } : record;
    if (changed !== record) different++;
    candidate.push({ key: record.order_id, value: JSON.stringify(changed), timestamp: String(t) });
    // Ten orders only the candidate has, in event-time order with the rest.
    if (i % (count / 10) === 1) {
      candidate.push({
        key: `new-${i}`,
        value: JSON.stringify({ order_id: `new-${i}`, event_time: new Date(t).toISOString(), amount: 0 }),
      });
    }
  }
  candidate.push(
    { key: 'x', value: '{"order_id": ' },
    { key: 'y', value: '[1,2]' },
    { key: 'z', value: JSON.stringify({ amount: 1 }) },
  );
  return {
    live,
    candidate,
    expected: { equal: count - different - missing, different, missing, extra: 10, invalidCandidate: 3 },
  };
}

/** One record per partition far in event time, so every side's watermark passes the test windows. */
function flush(partitions: number, at: number): ProduceMessage[] {
  return Array.from({ length: partitions }, (_, partition) => ({
    key: `flush-${partition}`,
    value: JSON.stringify({ order_id: `flush-${partition}`, event_time: new Date(at).toISOString(), amount: 0 }),
    partition,
  }));
}

function config(
  name: string,
  t: { live: string; candidate: string },
  extra: Record<string, unknown> = {},
  storage: Record<string, unknown> = {},
) {
  return parseConfig({
    storage: { path: `${files.dir}/${name}.duckdb`, ...storage },
    kafka: { brokers: brokers.split(','), clientId: 'shadowdiff-test' },
    comparisons: [
      {
        id: 'orders-v2',
        live: { kafka: { topic: t.live } },
        candidate: { kafka: { topic: t.candidate } },
        key: ['order_id'],
        time: { field: 'event_time' },
        window: { size: '10s', allowedLateness: '1s', idleTimeout: '5m' },
        verdict: { tolerance: 0.001, minSamples: 100, maxLagSeconds: 60 },
        ...extra,
      },
    ],
  });
}

const closedTestWindows = (count: number) => Math.ceil((count * 20) / WINDOW_MS);

describe('service over a real Kafka broker', () => {
  it('counts exactly, answers the verdict, the gates and the metrics, and counts late records', async () => {
    const t = await topics();
    const ground = orders();
    await kafka.producer.send(t.live, ground.live);
    await kafka.producer.send(t.candidate, ground.candidate);
    await kafka.producer.send(t.live, flush(3, T0 + 600_000));
    await kafka.producer.send(t.candidate, flush(3, T0 + 600_000));
    const service = await Service.start(config('exact', t), pino({ level: 'silent' }));
    try {
      const runner = service.get('orders-v2')!;
      await waitFor(() => runner.runtime().closedWindows >= closedTestWindows(3000), 60_000, 'test windows closed');
      const summary = await runner.summary();
      expect(summary.counts).toMatchObject({
        ...ground.expected,
        invalidLive: 0,
        lateLive: 0,
        pendingLive: 3,
        pendingCandidate: 3,
      });
      expect(summary.fields.map((f) => [f.path, f.different])).toEqual([['amount', ground.expected.different]]);
      expect(runner.verdict().verdict).toBe('FAIL');
      const metrics = await service.promRegistry.metrics();
      expect(metrics).toContain(
        `shadowdiff_outcomes_total{comparison="orders-v2",outcome="missing"} ${ground.expected.missing}`,
      );
      expect(metrics).toContain('shadowdiff_records_total{comparison="orders-v2",side="candidate",status="invalid"} 3');
      expect(metrics).toContain('shadowdiff_verdict_code{comparison="orders-v2"} -1');

      // A record for a window that closed long ago is late: counted, never buffered.
      await kafka.producer.send(t.live, [
        { key: 'late', value: JSON.stringify({ order_id: 'late', event_time: new Date(T0).toISOString() }) },
      ]);
      await waitFor(async () => (await runner.summary()).counts.lateLive === 1, 20_000, 'late record counted');
    } finally {
      await service.stop();
    }
  });

  it('samples where the source runs: unsampled keys counted sampled_out, the rest compared, exactly', async () => {
    // SPEC §3 written out apart from the sampler: the MD5's first 8 bytes, little-endian, below the threshold.
    const sampled = (key: string) =>
      createHash('md5').update(key).digest().readBigUInt64LE(0) < (samplingThreshold(0.3) as bigint);
    // Watermarks follow the records that reach DuckDB: each partition's far record has a sampled key.
    const far = flush(3, T0 + 600_000).map((message, partition) => {
      let i = 0;
      while (!sampled(`flush-${partition}-${i}`)) i++;
      const key = `flush-${partition}-${i}`;
      return { ...message, key, value: JSON.stringify({ ...JSON.parse(String(message.value)), order_id: key }) };
    });
    const t = await topics();
    const ground = orders();
    await kafka.producer.send(t.live, [...ground.live, ...far]);
    await kafka.producer.send(t.candidate, [...ground.candidate, ...far]);
    const service = await Service.start(config('sampled', t, { sampling: { rate: 0.3 } }), pino({ level: 'silent' }));
    try {
      const runner = service.get('orders-v2')!;
      await waitFor(() => runner.runtime().closedWindows >= closedTestWindows(3000), 60_000, 'test windows closed');
      const keyOf = (message: ProduceMessage) => {
        try {
          return (JSON.parse(String(message.value)) as { order_id?: unknown }).order_id;
        } catch {
          return undefined;
        }
      };
      const ids = (list: ProduceMessage[]) =>
        list.map(keyOf).filter((id): id is string => typeof id === 'string' && !id.startsWith('flush-'));
      const live = new Set(ids(ground.live).filter(sampled));
      const candidate = new Set(ids(ground.candidate).filter(sampled));
      const changed = ground.candidate.filter((m) => {
        const id = keyOf(m);
        return typeof id === 'string' && live.has(id) && Number(id.slice(2)) % 25 === 0;
      }).length;
      const { counts } = await runner.summary();
      expect(counts).toMatchObject({
        sampledOutLive: ids(ground.live).length - live.size,
        sampledOutCandidate: ids(ground.candidate).length - candidate.size,
        equal: [...live].filter((id) => candidate.has(id)).length - changed,
        different: changed,
        missing: [...live].filter((id) => !candidate.has(id)).length,
        extra: [...candidate].filter((id) => !live.has(id)).length,
        invalidCandidate: 3,
      });
      expect(await service.promRegistry.metrics()).toContain(
        `shadowdiff_records_total{comparison="orders-v2",side="live",status="sampled_out"} ${counts.sampledOutLive}`,
      );
    } finally {
      await service.stop();
    }
  });

  it('diffs a window of records DuckDB keys early while its lateness runs, and again at close if a record came meanwhile', async () => {
    const t = await topics(1);
    // A byte order mark leaves the keying to DuckDB: records keyed at the source are held in
    // memory and settled at close (`store/open-pairs.ts`), with no early diff.
    const at = (key: string, ms: number, amount = 1): ProduceMessage => ({
      key,
      value: `\uFEFF${JSON.stringify({ order_id: key, event_time: new Date(T0 + ms).toISOString(), amount })}`,
    });
    const firstWindow = Array.from({ length: 100 }, (_, i) => at(`a${i}`, i * 50));
    const logs: { msg: string; window?: number }[] = [];
    const log = new Writable({
      write(chunk, _encoding, done) {
        logs.push(JSON.parse(chunk.toString()));
        done();
      },
    });
    const diffedEarly = (window: number) => logs.some((l) => l.msg === 'window diffed early' && l.window === window);
    const service = await Service.start(config('early', t), pino({ level: 'debug' }, log));
    try {
      const runner = service.get('orders-v2')!;
      // Both sides pass the end of the first window, not its lateness (1 s): it is diffed early.
      for (const side of ['live', 'candidate'] as const)
        await kafka.producer.send(t[side], [...firstWindow, at('b0', 10_500)]);
      await waitFor(() => diffedEarly(T0), 30_000, 'first window diffed early');
      // A record in the first window's lateness: its early diff no longer holds.
      await kafka.producer.send(t.candidate, [at('late-1', 9_900)]);
      await waitFor(async () => (await runner.summary()).counts.pendingCandidate === 102, 30_000, 'record buffered');
      for (const side of ['live', 'candidate'] as const) await kafka.producer.send(t[side], [at('c0', 20_500)]);
      await waitFor(() => runner.runtime().closedWindows === 1, 30_000, 'first window closed');
      expect((await runner.summary()).counts).toMatchObject({ equal: 100, extra: 1, different: 0, missing: 0 });
      expect(logs.some((l) => l.msg === 'window closed with its early diff')).toBe(false);
      // The second window's early diff still holds when it closes.
      await waitFor(() => diffedEarly(T0 + WINDOW_MS), 30_000, 'second window diffed early');
      for (const side of ['live', 'candidate'] as const) await kafka.producer.send(t[side], [at('d0', 30_500)]);
      await waitFor(() => runner.runtime().closedWindows === 2, 30_000, 'second window closed');
      expect(logs.filter((l) => l.msg === 'window closed with its early diff').map((l) => l.window)).toEqual([
        T0 + WINDOW_MS,
      ]);
      expect((await runner.summary()).counts).toMatchObject({
        equal: 101,
        extra: 1,
        pendingLive: 2,
        pendingCandidate: 2,
      });
    } finally {
      await service.stop();
    }
  });

  it('catches up on a backlog of 150,000 records per side with exact counts', async () => {
    const t = await topics();
    const ground = orders(150_000);
    for (const side of ['live', 'candidate'] as const) {
      for (let from = 0; from < ground[side].length; from += 10_000) {
        await kafka.producer.send(t[side], ground[side].slice(from, from + 10_000));
      }
      await kafka.producer.send(t[side], flush(3, T0 + 3_600_000));
    }
    const service = await Service.start(config('catch-up', t), pino({ level: 'silent' }));
    try {
      const runner = service.get('orders-v2')!;
      let caughtUpOnce = false;
      await waitFor(
        () => {
          caughtUpOnce ||= runner.catchingUp();
          return runner.runtime().closedWindows >= closedTestWindows(150_000);
        },
        90_000,
        'all test windows closed',
      );
      expect(caughtUpOnce).toBe(true);
      const summary = await runner.summary();
      expect(summary.counts).toMatchObject({
        ...ground.expected,
        live: 150_003,
        invalidLive: 0,
        lateLive: 0,
        pendingLive: 3,
      });
    } finally {
      await service.stop();
    }
  });

  it('keeps the verdict INCONCLUSIVE while the candidate is down, with its lag reported, and expires old buffers', async () => {
    const t = await topics(1);
    const records = (from: number, to: number) =>
      Array.from({ length: to - from }, (_, k) => {
        const i = from + k;
        return {
          key: `o-${i}`,
          value: JSON.stringify({ order_id: `o-${i}`, event_time: new Date(T0 + i * 100).toISOString(), amount: i }),
        };
      });
    // Both sides agree for 200 s of event time, then only live goes on for 10 more minutes.
    await kafka.producer.send(t.live, records(0, 2000));
    await kafka.producer.send(t.candidate, records(0, 2000));
    await kafka.producer.send(t.live, records(2000, 8000));
    // Event times are from months ago: buffers expire by the streams' event time, not the clock.
    const service = await Service.start(
      config('down', t, { verdict: { tolerance: 0.01, minSamples: 100, maxLagSeconds: 60 } }, { retention: '5m' }),
      pino({ level: 'silent' }),
    );
    try {
      const runner = service.get('orders-v2')!;
      await waitFor(() => runner.runtime().closedWindows >= 19, 60_000, 'shared windows closed');
      await waitFor(() => (runner.runtime().sides.candidate?.lagSeconds ?? 0) > 500, 30_000, 'candidate lag');
      const verdict = runner.verdict();
      expect(verdict.verdict).toBe('INCONCLUSIVE');
      expect(verdict.reason).toMatch(/lags live by/);
      // Windows 0-180 s closed; the latest event time is 799.9 s, so the windows that ended 5 minutes
      // before it (190-480 s: 3,000 live and 100 candidate records) expired late; 3,100 wait.
      await waitFor(async () => (await runner.summary()).counts.pendingLive === 3100, 30_000, 'old buffers expired');
      expect((await runner.summary()).counts).toMatchObject({
        equal: 1900,
        lateLive: 3000,
        lateCandidate: 100,
        pendingLive: 3100,
        pendingCandidate: 0,
      });
      const metrics = await service.promRegistry.metrics();
      expect(metrics).toMatch(/shadowdiff_records_total\{comparison="orders-v2",side="live",status="late"\} 3000\n/);
      expect(metrics).toMatch(
        /shadowdiff_records_total\{comparison="orders-v2",side="candidate",status="late"\} 100\n/,
      );
      expect(await service.promRegistry.metrics()).toMatch(
        /shadowdiff_lag_seconds\{comparison="orders-v2",side="candidate"\} (5\d\d|6\d\d)/,
      );
    } finally {
      await service.stop();
    }
  });

  it('after kill -9 mid-stream and a restart, ends with exactly the counts of an uninterrupted run', async () => {
    const t = await topics();
    const ground = orders(20_000);
    const path = files.write(
      'kafka.yaml',
      `server: {host: 127.0.0.1, port: "\${PORT}"}
storage: {path: ${files.dir}/crash.duckdb}
kafka: {brokers: [${brokers}], clientId: shadowdiff-crash}
comparisons:
  - id: orders-v2
    live: {kafka: {topic: ${t.live}}}
    candidate: {kafka: {topic: ${t.candidate}}}
    key: [order_id]
    time: {field: event_time}
    window: {size: 10s, allowedLateness: 1s, idleTimeout: 5m}
    verdict: {tolerance: 0.001, minSamples: 100}
`,
    );
    const port = await freePort();
    const base = `http://127.0.0.1:${port}/v1/comparisons/orders-v2`;
    const first = await startServe(path, port);
    const halves = (list: ProduceMessage[]) => [list.slice(0, list.length / 2), list.slice(list.length / 2)];
    const [live1, live2] = halves(ground.live);
    const [candidate1, candidate2] = halves(ground.candidate);
    await kafka.producer.send(t.live, live1!);
    await kafka.producer.send(t.candidate, candidate1!);
    await waitFor(
      async () => (await getJson<{ counts: { live: number } }>(`${base}/summary`)).body.counts.live > 2000,
      30_000,
    );
    first.kill('SIGKILL');
    await once(first, 'exit');
    await kafka.producer.send(t.live, [...live2!, ...flush(3, T0 + 3_600_000)]);
    await kafka.producer.send(t.candidate, [...candidate2!, ...flush(3, T0 + 3_600_000)]);
    const second = await startServe(path, port);
    try {
      await waitFor(
        async () =>
          (await getJson<{ windows: { closed: number } }>(`${base}/summary`)).body.windows.closed >=
          closedTestWindows(20_000),
        90_000,
        'all test windows closed',
      );
      const { body } = await getJson<{ counts: Record<string, number> }>(`${base}/summary`);
      expect(body.counts).toMatchObject({
        ...ground.expected,
        live: 20_003,
        candidate: ground.candidate.length,
        invalidLive: 0,
        duplicateLive: 0,
        duplicateCandidate: 0,
        lateLive: 0,
        lateCandidate: 0,
      });
    } finally {
      second.kill('SIGTERM');
      await once(second, 'exit');
    }
  });
});
