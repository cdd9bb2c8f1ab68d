import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { parseComparison, parseConfig } from '../../src/config/load.js';
import { isShadowdiffError } from '../../src/errors.js';
import { Service } from '../../src/service/service.js';
import type { ProduceMessage } from '../../src/sources/kafka/client.js';
import { kafkaFixture } from '../helpers/kafka.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

/** Cluster mode's checks and counts against the real broker of test/global-setup.ts. */
const kafka = kafkaFixture('shadowdiff-cluster-test');
const files = tempDir();
afterAll(() => files.remove());

const silent = pino({ level: 'silent' });
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const PARTITIONS = 3;

async function topics(live = PARTITIONS, candidate = PARTITIONS): Promise<{ live: string; candidate: string }> {
  const suffix = randomUUID().slice(0, 8);
  const names = { live: `cl-live-${suffix}`, candidate: `cl-candidate-${suffix}` };
  await kafka.admin.createTopics([
    { topic: names.live, partitions: live },
    { topic: names.candidate, partitions: candidate },
  ]);
  return names;
}

function comparison(t: { live: string; candidate: string }) {
  return {
    id: 'orders-v2',
    live: { kafka: { topic: t.live } },
    candidate: { kafka: { topic: t.candidate } },
    key: ['order_id'],
    time: { field: 'event_time' },
    window: { size: '10s', allowedLateness: '1s', idleTimeout: '5m' },
    verdict: { tolerance: 0.001, minSamples: 100, maxLagSeconds: 60 },
  };
}

function config(name: string, t: { live: string; candidate: string } | undefined, cluster: boolean) {
  return parseConfig({
    storage: { path: `${files.dir}/${name}.duckdb` },
    kafka: { brokers: kafka.brokers.split(','), clientId: 'shadowdiff-test' },
    cluster: { enabled: cluster, instanceId: 'test-0' },
    comparisons: t ? [comparison(t)] : [],
  });
}

const order = (id: string, t: number, partition: number): ProduceMessage => ({
  key: id,
  value: JSON.stringify({ order_id: id, event_time: new Date(t).toISOString(), amount: 1 }),
  partition,
});

/**
 * 600 orders over one 10 s window, each on partition i % 3 on both sides, except 7 that come on
 * partition 1 on live and 2 on candidate (a producer that does not co-partition); then one far
 * record per partition on both sides, so the watermarks pass the window.
 */
const COUNT = 600;
const MISROUTED = 7;
async function produce(t: { live: string; candidate: string }): Promise<void> {
  const live: ProduceMessage[] = [];
  const candidate: ProduceMessage[] = [];
  for (let i = 0; i < COUNT; i++) {
    live.push(order(`o-${i}`, T0 + i * 10, i % PARTITIONS));
    candidate.push(order(`o-${i}`, T0 + i * 10, i % PARTITIONS));
  }
  for (let i = 0; i < MISROUTED; i++) {
    live.push(order(`m-${i}`, T0 + i * 10, 1));
    candidate.push(order(`m-${i}`, T0 + i * 10, 2));
  }
  for (let partition = 0; partition < PARTITIONS; partition++) {
    live.push(order(`flush-${partition}`, T0 + 600_000, partition));
    candidate.push(order(`flush-${partition}`, T0 + 600_000, partition));
  }
  await kafka.producer.send(t.live, live);
  await kafka.producer.send(t.candidate, candidate);
}

describe('cluster mode over a real Kafka broker', () => {
  it('counts keys that come on different partitions across sides misrouted, exactly, and names them', async () => {
    const t = await topics();
    await produce(t);
    const service = await Service.start(config('misrouted', t, true), silent);
    try {
      const runner = service.get('orders-v2')!;
      await waitFor(() => runner.runtime().closedWindows >= 1, 60_000, 'the test window closed');
      const { counts } = await runner.summary();
      expect(counts).toMatchObject({
        live: COUNT + MISROUTED + PARTITIONS,
        candidate: COUNT + MISROUTED + PARTITIONS,
        // Compared all the same: one instance held both partitions.
        equal: COUNT + MISROUTED,
        different: 0,
        missing: 0,
        extra: 0,
        misroutedLive: MISROUTED,
        misroutedCandidate: MISROUTED,
        pendingLive: PARTITIONS,
        pendingCandidate: PARTITIONS,
      });
      expect(runner.verdict().reason).toContain(
        `${MISROUTED} keys misrouted: their records came on different partitions across sides (topics not co-partitioned)`,
      );
      const metrics = await service.promRegistry.metrics();
      for (const side of ['live', 'candidate']) {
        expect(metrics).toContain(
          `shadowdiff_records_total{comparison="orders-v2",side="${side}",status="misrouted"} ${MISROUTED}`,
        );
        expect(metrics).toContain(
          `shadowdiff_records_total{comparison="orders-v2",side="${side}",status="accepted"} ${COUNT}`,
        );
      }
    } finally {
      await service.stop();
    }
  }, 120_000);

  it('counts nothing misrouted without cluster mode: one instance aligns keys whatever their partitions', async () => {
    const t = await topics();
    await produce(t);
    const service = await Service.start(config('single', t, false), silent);
    try {
      const runner = service.get('orders-v2')!;
      await waitFor(() => runner.runtime().closedWindows >= 1, 60_000, 'the test window closed');
      const { counts } = await runner.summary();
      expect(counts).toMatchObject({ equal: COUNT + MISROUTED, different: 0, missing: 0, extra: 0 });
      expect(counts).not.toHaveProperty('misroutedLive');
      expect(runner.verdict().reason).not.toContain('misrouted');
      const metrics = await service.promRegistry.metrics();
      expect(metrics).toContain(
        `shadowdiff_records_total{comparison="orders-v2",side="live",status="accepted"} ${COUNT + MISROUTED}`,
      );
      expect(metrics).toContain('shadowdiff_records_total{comparison="orders-v2",side="live",status="misrouted"} 0');
    } finally {
      await service.stop();
    }
  }, 120_000);

  it('refuses to start a comparison whose topics differ in partition count, naming topics and counts', async () => {
    const t = await topics(3, 2);
    const started = Service.start(config('uneven', t, true), silent);
    await expect(started).rejects.toThrow(
      `comparison orders-v2: cluster mode needs the same partition count on every side's topic, but live ${t.live} has 3, candidate ${t.candidate} has 2; give the topics the same partition count and partitioner, or run the comparison without cluster mode`,
    );
    await expect(started).rejects.toSatisfy(
      (error) => isShadowdiffError(error) && error.code === 'SD_CLUSTER_PARTITIONS',
    );
    // Without cluster mode the same topics run.
    const single = await Service.start(config('uneven-single', t, false), silent);
    await single.stop();
  }, 120_000);

  it('refuses a topic that does not exist yet, and file comparisons created over HTTP', async () => {
    const t = await topics();
    const missing = { ...t, candidate: `${t.candidate}-absent` };
    await expect(Service.start(config('absent', missing, true), silent)).rejects.toThrow(
      `comparison orders-v2: the candidate topic ${missing.candidate} does not exist; cluster mode checks at start that every side's topic has the same partition count`,
    );
    const logged: { level: number; instanceId?: string; resultsTopic?: string; msg: string }[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => logged.push(JSON.parse(line)) });
    const service = await Service.start(config('create', undefined, true), logger);
    try {
      // Operators learn what cluster mode does today, and as which instance.
      expect(logged).toContainEqual(
        expect.objectContaining({
          level: 40,
          instanceId: 'test-0',
          resultsTopic: 'shadowdiff.results',
          msg: expect.stringContaining('it does not split comparisons over instances yet'),
        }),
      );
      const file = parseComparison({
        id: 'orders-file',
        live: { file: { path: `${files.dir}/live.ndjson` } },
        candidate: { kafka: { topic: t.candidate } },
        key: ['order_id'],
      });
      await expect(service.create(file)).rejects.toThrow(
        'live: a file source cannot run in cluster mode (cluster.enabled): only Kafka comparisons are split over instances; run comparison orders-file on an instance without cluster mode',
      );
      const uneven = await topics(2, 4);
      await expect(service.create(parseComparison(comparison(uneven)))).rejects.toThrow(
        `but live ${uneven.live} has 2, candidate ${uneven.candidate} has 4`,
      );
      expect(service.list()).toEqual([]);
    } finally {
      await service.stop();
    }
  }, 120_000);

  it('refuses to start in cluster mode with a file comparison created over HTTP before', async () => {
    const path = files.write('stored.ndjson', '{"order_id": "o-1"}\n');
    const single = await Service.start(config('stored', undefined, false), silent);
    try {
      await single.create(
        parseComparison({
          id: 'orders-file',
          live: { file: { path } },
          candidate: { file: { path } },
          key: ['order_id'],
        }),
      );
    } finally {
      await single.stop();
    }
    await expect(Service.start(config('stored', undefined, true), silent)).rejects.toThrow(
      'live: a file source cannot run in cluster mode (cluster.enabled): only Kafka comparisons are split over instances; run comparison orders-file on an instance without cluster mode',
    );
  }, 120_000);
});
