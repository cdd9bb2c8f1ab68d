import { randomUUID } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { type Logger, pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../src/api/server.js';
import { parseConfig } from '../../src/config/load.js';
import { epochResults } from '../../src/service/results.js';
import { Service } from '../../src/service/service.js';
import type { ProduceMessage } from '../../src/sources/kafka/client.js';
import { connect, openDatabase } from '../../src/store/duckdb.js';
import { kafkaFixture } from '../helpers/kafka.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

/** A canary on 2 of 6 partitions, streaming from the real broker of test/global-setup.ts. */
const kafka = kafkaFixture('shadowdiff-canary-test');
const files = tempDir();
afterAll(() => files.remove());

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const PARTITIONS = 6;
const SLICE = [0, 1];
const COUNT = 1200;

async function topics(): Promise<{ live: string; candidate: string }> {
  const suffix = randomUUID().slice(0, 8);
  const names = { live: `canary.v1-${suffix}`, candidate: `canary.v2-${suffix}` };
  await kafka.admin.createTopics([
    { topic: names.live, partitions: PARTITIONS },
    { topic: names.candidate, partitions: PARTITIONS },
  ]);
  return names;
}

const order = (i: number, amount = i, at = T0 + i * 20): ProduceMessage => ({
  key: `o-${i}`,
  value: JSON.stringify({ order_id: `o-${i}`, event_time: new Date(at).toISOString(), amount }),
  partition: i % PARTITIONS,
});

/** One record per partition far ahead in event time, so the watermarks pass the test's windows. */
const flush = (partitions: readonly number[]) =>
  partitions.map((partition) => ({ ...order(COUNT + partition, 0, T0 + 600_000), partition }));

function config(name: string, t: { live: string; candidate: string }, scope: Record<string, unknown>) {
  return parseConfig({
    storage: { path: `${files.dir}/${name}.duckdb` },
    kafka: { brokers: kafka.brokers.split(','), clientId: 'shadowdiff-canary-test' },
    comparisons: [
      {
        id: 'canary',
        live: { kafka: { topic: t.live } },
        candidate: { kafka: { topic: t.candidate } },
        key: ['order_id'],
        time: { field: 'event_time' },
        // Partitions outside the scope must not hold the watermark: an idle timeout this long would show it.
        window: { size: '10s', allowedLateness: '1s', idleTimeout: '5m' },
        verdict: { tolerance: 0.05, minSamples: 100, maxLagSeconds: 600 },
        scope,
      },
    ],
  });
}

const live = Array.from({ length: COUNT }, (_, i) => order(i));
const inSlice = live.filter((m) => SLICE.includes(m.partition as number));
/** The test windows: 1,200 records 20 ms apart from T0 span 24 s, three 10 s windows. */
const TEST_WINDOWS = 3;

async function run(
  name: string,
  candidate: ProduceMessage[],
  scope: Record<string, unknown>,
  check: (service: Service) => Promise<void>,
) {
  const t = await topics();
  await kafka.producer.send(t.live, [...live, ...flush([0, 1, 2, 3, 4, 5])]);
  // The candidate runs on its slice only: its other partitions stay empty.
  await kafka.producer.send(t.candidate, [...candidate, ...flush(SLICE)]);
  const service = await Service.start(config(name, t, scope), pino({ level: 'silent' }));
  try {
    const runner = service.get('canary')!;
    await waitFor(() => runner.runtime().closedWindows >= TEST_WINDOWS, 90_000, 'test windows closed');
    // The flush records are the last of each partition: once every one is counted, nothing more comes.
    await waitFor(
      async () => {
        const { counts } = await runner.summary();
        return counts.pendingLive === 2 && counts.outOfScopeLive === COUNT - inSlice.length + 4;
      },
      60_000,
      'every live record counted',
    );
    await check(service);
  } finally {
    await service.stop();
  }
}

describe('a streaming canary on 2 of 6 Kafka partitions', () => {
  it('PASSes a clean slice: the other partitions are out of scope, never missing', async () => {
    await run('clean', inSlice, { partitions: SLICE }, async (service) => {
      const runner = service.get('canary')!;
      const summary = await runner.summary();
      expect(summary.counts).toMatchObject({
        live: inSlice.length + 2,
        candidate: inSlice.length + 2,
        equal: inSlice.length,
        different: 0,
        missing: 0,
        extra: 0,
        pendingLive: 2,
        pendingCandidate: 2,
        // 800 records and 4 flush records on partitions 2 to 5.
        outOfScopeLive: COUNT - inSlice.length + 4,
        outOfScopeCandidate: 0,
        unexpectedCandidate: 0,
        lateLive: 0,
        invalidLive: 0,
      });
      expect(summary.scope).toBe('partitions 0, 1; records outside it are out of scope');
      await waitFor(() => runner.verdict().verdict === 'PASS', 30_000, 'verdict PASS');
      expect(runner.verdict().scope).toBe(summary.scope);
      const metrics = await service.promRegistry.metrics();
      expect(metrics).toContain(
        `shadowdiff_records_total{comparison="canary",side="live",status="out_of_scope"} ${COUNT - inSlice.length + 4}`,
      );
      expect(metrics).toContain(
        'shadowdiff_records_total{comparison="canary",side="candidate",status="out_of_scope"} 0',
      );
    });
  });

  it('FAILs a broken slice, and names the records a candidate held to its slice emitted outside it', async () => {
    // One in four orders of the slice has a wrong amount, and 5 records land on partition 2.
    const broken = inSlice.map((m, i) => (i % 4 === 0 ? order(Number(m.key?.slice(2)), -1) : m));
    const leaked = [2, 8, 14, 20, 26].map((i) => order(i));
    await run('broken', [...broken, ...leaked], { partitions: SLICE, candidateOnly: true }, async (service) => {
      const runner = service.get('canary')!;
      await waitFor(
        async () => (await runner.summary()).counts.unexpectedCandidate === leaked.length,
        30_000,
        'leaked records counted',
      );
      const summary = await runner.summary();
      expect(summary.counts).toMatchObject({
        equal: inSlice.length - inSlice.length / 4,
        different: inSlice.length / 4,
        missing: 0,
        extra: 0,
        outOfScopeLive: COUNT - inSlice.length + 4,
        outOfScopeCandidate: 0,
        unexpectedCandidate: leaked.length,
      });
      await waitFor(() => runner.verdict().verdict === 'FAIL', 30_000, 'verdict FAIL');
      expect(runner.verdict().reason).toMatch(/^candidate emitted 5 unexpected records outside its scope; /);
      expect(runner.verdict().scope).toBe("partitions 0, 1; the candidate's records outside it are unexpected");
      const metrics = await service.promRegistry.metrics();
      expect(metrics).toContain('shadowdiff_records_total{comparison="canary",side="candidate",status="unexpected"} 5');
    });
  });
});

describe('a streaming canary whose slice moves', () => {
  const TOKEN = 'canary-admin';
  /** Each phase's records start after the latest event time of the one before (its flush records). */
  const PHASE_MS = 620_000;
  const phase = (k: number) =>
    Array.from({ length: COUNT }, (_, j) => order(k * COUNT + j, k * COUNT + j, T0 + k * PHASE_MS + j * 20));
  const phaseFlush = (k: number, partitions: readonly number[]) =>
    partitions.map((partition) => ({
      key: `f-${k}-${partition}`,
      value: JSON.stringify({ order_id: `f-${k}-${partition}`, event_time: new Date(T0 + k * PHASE_MS + 600_000) }),
      partition,
    }));
  const slice = (records: ProduceMessage[], partitions: readonly number[]) =>
    records.filter((m) => partitions.includes(m.partition as number));
  /** One in four orders of the slice with a wrong amount. */
  const broken = (records: ProduceMessage[]) =>
    records.map((m, i) =>
      i % 4 === 0 ? order(Number(m.key?.slice(2)), -1, JSON.parse(m.value as string).event_time) : m,
    );

  async function produce(
    t: { live: string; candidate: string },
    k: number,
    candidate: ProduceMessage[],
    partitions: number[],
  ) {
    await kafka.producer.send(t.live, [...phase(k), ...phaseFlush(k, [0, 1, 2, 3, 4, 5])]);
    await kafka.producer.send(t.candidate, [...candidate, ...phaseFlush(k, partitions)]);
  }

  /** Waits until the current epoch has its phase's windows closed and every live record counted. */
  async function counted(service: Service, epoch: number, phases = 1) {
    const runner = service.get('canary')!;
    await waitFor(
      async () => {
        if (runner.runtime().epoch !== epoch || runner.runtime().closedWindows < TEST_WINDOWS * phases) return false;
        const { counts } = await runner.summary();
        return counts.pendingLive === 2 && counts.outOfScopeLive === phases * (COUNT - COUNT / 3 + 4);
      },
      90_000,
      `epoch ${epoch} counted`,
    );
    return runner;
  }

  it('starts a new epoch at each change of slice, through the API and by a restart, with exact counts in each', async () => {
    const t = await topics();
    const storage = `${files.dir}/moving.duckdb`;
    const withScope = (partitions: number[]) => {
      const parsed = config('moving', t, { partitions });
      parsed.server.adminToken = TOKEN;
      return parsed;
    };
    const inOld = slice(phase(0), [0, 1]);
    await produce(t, 0, inOld, [0, 1]);
    let service = await Service.start(withScope([0, 1]), pino({ level: 'silent' }));
    const app = buildServer({
      registry: service,
      adminToken: TOKEN,
      metrics: { contentType: service.promRegistry.contentType, render: () => service.promRegistry.metrics() },
      logger: false,
    });
    let epoch1: Awaited<ReturnType<typeof storedCounts>>;
    let epoch2: Awaited<ReturnType<typeof storedCounts>>;
    try {
      const first = await counted(service, 1);
      epoch1 = (await first.summary()).counts;
      expect(epoch1).toMatchObject({ equal: inOld.length, different: 0, missing: 0, pendingCandidate: 2 });
      await waitFor(() => first.verdict().verdict === 'PASS', 30_000, 'epoch 1 PASS');

      const put = (body: unknown, authorization = `Bearer ${TOKEN}`) =>
        app.inject({
          method: 'PUT',
          url: '/v1/comparisons/canary/scope',
          headers: { authorization, 'content-type': 'application/json' },
          payload: JSON.stringify(body),
        });
      expect((await put({ partitions: [2, 3] }, 'Bearer wrong')).statusCode).toBe(401);
      // Checked with the comparison, as a config file is: refused before anything stops.
      const refused = await put({ field: 'tenant' });
      expect(refused.statusCode).toBe(400);
      expect(refused.json()).toEqual({
        error: 'SD_CONFIG_INVALID',
        message: 'scope.field: needs in or notIn (the values of the slice)',
      });
      expect(service.get('canary')).toBe(first);
      const changed = await put({ partitions: [2, 3] });
      expect(changed.statusCode).toBe(200);
      expect(changed.json()).toMatchObject({
        comparison: 'canary',
        changed: true,
        epoch: 2,
        scope: 'partitions 2, 3; records outside it are out of scope',
      });
      // The same scope again changes nothing.
      expect((await put({ partitions: [2, 3] })).json()).toMatchObject({ changed: false, epoch: 2 });

      const inNew = slice(phase(1), [2, 3]);
      await produce(t, 1, broken(inNew), [2, 3]);
      const second = await counted(service, 2);
      const summary = await second.summary();
      epoch2 = summary.counts;
      expect(epoch2).toMatchObject({
        live: inNew.length + 2,
        candidate: inNew.length + 2,
        equal: inNew.length - inNew.length / 4,
        different: inNew.length / 4,
        missing: 0,
        extra: 0,
        pendingLive: 2,
        pendingCandidate: 2,
        // Partitions 0, 1, 4 and 5 of the new phase; the first phase was read in epoch 1.
        outOfScopeLive: COUNT - inNew.length + 4,
        outOfScopeCandidate: 0,
        lateLive: 0,
        lateCandidate: 0,
      });
      expect(summary.scope).toBe('partitions 2, 3; records outside it are out of scope');
      await waitFor(() => second.verdict().verdict === 'FAIL', 30_000, 'epoch 2 FAIL');
      expect(second.verdict().scope).toBe(summary.scope);
      expect(second.verdict().stats.sampled).toBe(inNew.length);
    } finally {
      await app.close();
      await service.stop();
    }

    // A restart whose config names another slice starts epoch 3.
    const inLast = slice(phase(2), [4, 5]);
    await produce(t, 2, inLast, [4, 5]);
    service = await Service.start(withScope([4, 5]), pino({ level: 'silent' }));
    let epoch3: Awaited<ReturnType<typeof storedCounts>>;
    try {
      const third = await counted(service, 3);
      epoch3 = (await third.summary()).counts;
      expect(epoch3).toMatchObject({
        live: inLast.length + 2,
        equal: inLast.length,
        different: 0,
        missing: 0,
        extra: 0,
        outOfScopeLive: COUNT - inLast.length + 4,
        lateLive: 0,
      });
      await waitFor(() => third.verdict().verdict === 'PASS', 30_000, 'epoch 3 PASS');
      expect(third.verdict().scope).toBe('partitions 4, 5; records outside it are out of scope');
    } finally {
      await service.stop();
    }
    // Each change ended the old epoch's open windows (the flush records), counted late there; nothing else moved.
    const ended = { pendingLive: 0, pendingCandidate: 0, lateLive: 2, lateCandidate: 2 };
    expect(await storedCounts(storage, 1)).toEqual({ ...epoch1, ...ended });
    expect(await storedCounts(storage, 2)).toEqual({ ...epoch2, ...ended });
    expect(await storedCounts(storage, 3)).toEqual(epoch3);

    // A restart with the same slice goes on in epoch 3: the partitions outside it, in the checkpoint
    // too, do not hold the watermark (they held it for the idle timeout, 5 minutes here).
    await produce(t, 3, slice(phase(3), [4, 5]), [4, 5]);
    service = await Service.start(withScope([4, 5]), pino({ level: 'silent' }));
    try {
      const third = await counted(service, 3, 2);
      // The previous phase's flush records are on both sides: equal once the new phase closes their window.
      expect((await third.summary()).counts).toMatchObject({
        live: 2 * inLast.length + 4,
        equal: 2 * inLast.length + 2,
        different: 0,
        missing: 0,
        extra: 0,
        lateLive: 0,
      });
    } finally {
      await service.stop();
    }
  });
});

/** The counts of one epoch as stored, read once the service has stopped: previous epochs stay readable. */
async function storedCounts(path: string, epoch: number) {
  const instance = await openDatabase({ path });
  const connection = await connect(instance);
  try {
    return (await epochResults(connection, 'canary', epoch, { hasControl: false, alpha: 0.05, scoped: true })).counts;
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** A logger whose lines the test reads. */
function capturedLogger(): { logger: Logger; lines: () => { msg: string; level: number }[] } {
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
  return { logger, lines: () => lines.map((line) => JSON.parse(line)) };
}

describe('a scope changed by a restart', () => {
  const record = (i: number, at: number) =>
    JSON.stringify({ order_id: `o-${i}`, tenant: i % 2 ? 'acme' : 'globex', event_time: at });
  const first = Array.from({ length: 10 }, (_, i) => record(i, T0 + i));
  const path = files.write('scope-change.ndjson', `${first.join('\n')}\n`);
  const storage = `${files.dir}/scope-change.duckdb`;
  const withScope = (scope: Record<string, unknown>) =>
    parseConfig({
      storage: { path: storage },
      comparisons: [
        {
          id: 'canary',
          live: { file: { path } },
          candidate: { file: { path } },
          key: ['order_id'],
          time: { field: 'event_time' },
          scope,
        },
      ],
    });

  it('starts a new epoch under the new scope, logs the change once, and leaves the old epoch as it was', async () => {
    const acme = await Service.start(withScope({ field: 'tenant', in: ['acme'] }), pino({ level: 'silent' }));
    await waitFor(() => acme.get('canary')!.verdict().complete, 30_000, 'input consumed');
    const before = (await acme.get('canary')!.summary()).counts;
    expect(before).toMatchObject({ live: 5, equal: 5, outOfScopeLive: 5, outOfScopeCandidate: 5, lateLive: 0 });
    await acme.stop();
    // Ten more records, a minute on: the new epoch judges windows after the latest event time read.
    const later = Array.from({ length: 10 }, (_, i) => record(10 + i, T0 + 60_000 + i));
    appendFileSync(path, `${later.join('\n')}\n`);

    const { logger, lines } = capturedLogger();
    const globex = await Service.start(withScope({ field: 'tenant', in: ['globex'] }), logger);
    try {
      const runner = globex.get('canary')!;
      await waitFor(() => runner.verdict().complete, 30_000, 'new input consumed');
      expect(runner.runtime().epoch).toBe(2);
      const summary = await runner.summary();
      // Of the ten new records, the five of globex are judged; the first ten were read in epoch 1.
      expect(summary.counts).toMatchObject({
        live: 5,
        candidate: 5,
        equal: 5,
        different: 0,
        missing: 0,
        extra: 0,
        outOfScopeLive: 5,
        outOfScopeCandidate: 5,
        lateLive: 0,
        lateCandidate: 0,
        pendingLive: 0,
      });
      expect(summary.scope).toBe('tenant in ["globex"]; records outside it are out of scope');
      expect(runner.verdict().scope).toBe(summary.scope);
      const changes = lines().filter((line) => line.msg.startsWith('scope changed'));
      expect(changes.map((line) => line.msg)).toEqual([
        'scope changed: tenant in ["acme"] → tenant in ["globex"], epoch 2',
      ]);
    } finally {
      await globex.stop();
    }
    expect(await storedCounts(storage, 1)).toEqual(before);

    // The same scope, its members written in another order, resumes epoch 2.
    const again = await Service.start(withScope({ in: ['globex'], field: 'tenant' }), pino({ level: 'silent' }));
    try {
      expect(again.get('canary')!.runtime().epoch).toBe(2);
      expect((await again.get('canary')!.summary()).counts).toMatchObject({ equal: 5, outOfScopeLive: 5 });
    } finally {
      await again.stop();
    }
  });
});
