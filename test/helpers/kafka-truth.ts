import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { DuckDBInstance } from '@duckdb/node-api';
import { samplingThreshold } from '../../src/align/keys.js';
import { sampledExpression } from '../../src/diff/key-sql.js';
import type { KafkaAdmin, KafkaProducer, ProduceMessage } from '../../src/sources/kafka/client.js';

/** Event time of the first order; one order every `STEP_MS`, so 500 orders per 10 s window. */
export const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
export const STEP_MS = 20;
export const WINDOW_MS = 10_000;
export const PARTITIONS = 3;

/**
 * Orders for two Kafka topics with known differences, indexed by order so that a test can produce
 * them in rounds: the candidate changes 1 in 25, loses 1 in 100, adds 1 in 500, sends 1 in 400
 * twice; each side has undecodable messages. Keys are order ids, so an order and its duplicate
 * land on one partition.
 */
export interface KafkaTruth {
  count: number;
  /** Per order index, what each side sends for it, in order. */
  live: ProduceMessage[][];
  candidate: ProduceMessage[][];
  /** The summary counts once every window of the orders has closed, with `flush` sent to both sides. */
  expected: Record<string, number>;
  /** Windows the orders fill: all closed once `flush` is consumed. */
  windows: number;
}

export function kafkaTruth(count: number): KafkaTruth {
  const live: ProduceMessage[][] = [];
  const candidate: ProduceMessage[][] = [];
  const n = { equal: 0, different: 0, missing: 0, extra: 0, invalidLive: 0, invalidCandidate: 0, duplicate: 0 };
  let candidateValid = 0;
  for (let i = 0; i < count; i++) {
    const t = T0 + i * STEP_MS;
    const order = {
      order_id: `o-${i}`,
      event_time: new Date(t).toISOString(),
      amount: i,
      items: [{ sku: `s${i % 9}` }],
    };
    const message = (value: unknown): ProduceMessage => ({
      key: order.order_id,
      value: typeof value === 'string' ? value : JSON.stringify(value),
      timestamp: String(t),
    });
    const l = [message(order)];
    const c: ProduceMessage[] = [];
    if (i % 900 === 13) {
      l.push(message('{"order_id": "broken'));
      n.invalidLive++;
    }
    if (i % 100 === 50) n.missing++;
    else {
      const changed = i % 25 === 0;
      c.push(message(changed ? { ...order, amount: i + 0.5 } : order));
      candidateValid++;
      if (changed) n.different++;
      else n.equal++;
      if (i % 400 === 9) {
        c.push(message(order));
        candidateValid++;
        n.duplicate++;
      }
    }
    if (i % 500 === 7) {
      c.push({
        key: `new-${i}`,
        value: JSON.stringify({ order_id: `new-${i}`, event_time: order.event_time, amount: 0 }),
        timestamp: String(t),
      });
      candidateValid++;
      n.extra++;
    }
    if (i % 1100 === 17) {
      // No event time: invalid, with its reason.
      c.push(message({ order_id: `o-${i}`, amount: i }));
      n.invalidCandidate++;
    }
    live.push(l);
    candidate.push(c);
  }
  return {
    count,
    live,
    candidate,
    windows: Math.ceil((count * STEP_MS) / WINDOW_MS),
    expected: {
      live: count + PARTITIONS,
      candidate: candidateValid + PARTITIONS,
      equal: n.equal,
      different: n.different,
      missing: n.missing,
      extra: n.extra,
      invalidLive: n.invalidLive,
      invalidCandidate: n.invalidCandidate,
      duplicateLive: 0,
      duplicateCandidate: n.duplicate,
      lateLive: 0,
      lateCandidate: 0,
      lostLive: 0,
      lostCandidate: 0,
      // The flush records, in the one window left open.
      pendingLive: PARTITIONS,
      pendingCandidate: PARTITIONS,
    },
  };
}

/** One record per partition an hour after the orders, so every watermark passes their windows. */
export function flush(partitions = PARTITIONS): ProduceMessage[] {
  const at = T0 + 3_600_000;
  return Array.from({ length: partitions }, (_, partition) => ({
    key: `flush-${partition}`,
    value: JSON.stringify({ order_id: `flush-${partition}`, event_time: new Date(at).toISOString(), amount: 0 }),
    partition,
  }));
}

/**
 * Sends orders [from, to) of both sides, in chunks so that a running service consumes while they
 * arrive; `pauseMs` between chunks paces them (a stream, not a backlog).
 */
export async function produceOrders(
  producer: KafkaProducer,
  topics: { live: string; candidate: string },
  truth: KafkaTruth,
  range: { from: number; to: number },
  pacing: { chunk?: number; pauseMs?: number } = {},
): Promise<void> {
  const { chunk = 250, pauseMs = 0 } = pacing;
  for (let start = range.from; start < range.to; start += chunk) {
    const end = Math.min(range.to, start + chunk);
    await producer.send(topics.live, truth.live.slice(start, end).flat());
    await producer.send(topics.candidate, truth.candidate.slice(start, end).flat());
    if (pauseMs > 0) await sleep(pauseMs);
  }
}

export async function createTopicPair(
  admin: KafkaAdmin,
  options: { partitions?: number; config?: Record<string, string> } = {},
): Promise<{ live: string; candidate: string }> {
  const { partitions = PARTITIONS, config = {} } = options;
  const suffix = randomUUID().slice(0, 8);
  const names = { live: `recovery.live-${suffix}`, candidate: `recovery.candidate-${suffix}` };
  await admin.createTopics([
    { topic: names.live, partitions, config },
    { topic: names.candidate, partitions, config },
  ]);
  return names;
}

/**
 * A serve config for the pair, with consumer groups of its own (tests in parallel must not share
 * one); `extra`: more YAML lines of the comparison, indented by 4.
 */
export function kafkaServeConfig(
  storagePath: string,
  brokers: string,
  topics: { live: string; candidate: string },
  extra = '',
  idleTimeout = '5m',
) {
  const group = `recovery-${randomUUID().slice(0, 8)}`;
  return `server: {host: 127.0.0.1, port: "\${PORT}"}
storage: {path: ${storagePath}}
kafka: {brokers: [${brokers}], clientId: ${group}}
comparisons:
  - id: orders-v2
    live: {kafka: {topic: ${topics.live}, groupId: ${group}-live}}
    candidate: {kafka: {topic: ${topics.candidate}, groupId: ${group}-candidate}}
    key: [order_id]
    time: {field: event_time}
    window: {size: 10s, allowedLateness: 1s, idleTimeout: ${idleTimeout}}
    verdict: {tolerance: 0.001, minSamples: 100}
${extra}`;
}

/** Keys `o-<i>` that sampling at `rate` keeps and drops: the hash SPEC §3 defines, computed by DuckDB. */
export async function keysBySampling(rate: number, count: number): Promise<{ kept: string[]; dropped: string[] }> {
  const instance = await DuckDBInstance.create(':memory:');
  try {
    const connection = await instance.connect();
    const reader = await connection.runAndReadAll(
      `SELECT 'o-' || i AS k, ${sampledExpression('k', samplingThreshold(rate), false)} AS kept
       FROM (SELECT i, 'o-' || i AS k FROM range(${count}) t(i)) ORDER BY i`,
    );
    connection.closeSync();
    const rows = reader.getRowObjectsJS() as { k: string; kept: boolean }[];
    return { kept: rows.filter((r) => r.kept).map((r) => r.k), dropped: rows.filter((r) => !r.kept).map((r) => r.k) };
  } finally {
    instance.closeSync();
  }
}

/**
 * Two partitions a side, the same messages on both sides, `sampling.rate` 0.5: partition 0 holds
 * keys sampling keeps, partition 1 keys it drops. `before` (until a kill): partition 0 at 0-15 s,
 * partition 1 at 0-25 s, so window 10-20 s stays open, held by partition 0, while partition 1 is
 * 10 s ahead with nothing buffered (its checkpoint needs no replay). `after`: both on to 30 s, and
 * one kept record per partition at 3 min, so that all 3 windows of the orders close.
 */
export async function aheadPartitionScenario() {
  const { kept, dropped } = await keysBySampling(0.5, 8000);
  const message = (key: string, j: number, partition: number): ProduceMessage => {
    const t = T0 + j * STEP_MS;
    const value = JSON.stringify({ order_id: key, event_time: new Date(t).toISOString(), amount: j });
    return { key, value, timestamp: String(t), partition };
  };
  const orders = (from: { kept: number; dropped: number }, to: { kept: number; dropped: number }) => [
    ...kept.slice(from.kept, to.kept).map((key, n) => message(key, from.kept + n, 0)),
    ...dropped.slice(from.dropped, to.dropped).map((key, n) => message(key, from.dropped + n, 1)),
  ];
  return {
    sampling: '    sampling: {rate: 0.5}\n',
    /**
     * Partition 1 delivers only records that sampling drops at the source: no event time reaches
     * its watermark, so it must turn idle for windows to close.
     */
    idleTimeout: '3s',
    before: orders({ kept: 0, dropped: 0 }, { kept: 750, dropped: 1250 }),
    after: [
      ...orders({ kept: 750, dropped: 1250 }, { kept: 1500, dropped: 1500 }),
      message(kept[1500] as string, 9000, 0),
      message(kept[1501] as string, 9000, 1),
    ],
    /** What a side has counted once `before` is in. */
    countedBefore: 2000,
    windows: 3,
    expected: {
      live: 3002,
      candidate: 3002,
      equal: 1500,
      different: 0,
      missing: 0,
      extra: 0,
      sampledOutLive: 1500,
      sampledOutCandidate: 1500,
      lateLive: 0,
      lateCandidate: 0,
      lostLive: 0,
      lostCandidate: 0,
      pendingLive: 2,
      pendingCandidate: 2,
    },
  };
}
