import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import type {
  ConsumedBatch,
  KafkaAdmin,
  KafkaClient,
  KafkaConsumer,
  KafkaProducer,
  ProduceMessage,
} from '../../../src/sources/kafka/client.js';
import { createKafkajsClient } from '../../../src/sources/kafka/kafkajs-client.js';

// A real broker from test/global-setup.ts; fetches wait at most 200 ms so consumers stop quickly.
const brokers = inject('kafkaBrokers');
if (!brokers) throw new Error('no Kafka broker: run vitest with test/global-setup.ts as globalSetup');
const MAX_WAIT_MS = 200;

let client: KafkaClient;
let admin: KafkaAdmin;
let producer: KafkaProducer;
const consumers: KafkaConsumer[] = [];

beforeAll(async () => {
  client = createKafkajsClient({ brokers: brokers.split(','), clientId: 'shadowdiff-test' });
  admin = await client.connectAdmin();
  producer = await client.connectProducer();
});

afterAll(async () => {
  await Promise.all(consumers.map((consumer) => consumer.disconnect()));
  await producer?.disconnect();
  await admin?.disconnect();
});

function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

async function createTopic(prefix: string, partitions: number): Promise<string> {
  const topic = uniqueName(prefix);
  await admin.createTopics([{ topic, partitions }]);
  return topic;
}

interface Received {
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  value: string | null;
  timestamp: string;
}

/** A consumer that records every message and, unless told otherwise, commits each batch once handled. */
async function startConsumer(
  groupId: string,
  topic: string,
  options: { commit?: (batch: ConsumedBatch) => boolean } = {},
): Promise<{
  consumer: KafkaConsumer;
  received: Received[];
  highWatermarks: Map<number, string>;
  /** Per partition, the offset of the last commit that completed. */
  committed: Map<number, number>;
}> {
  const consumer = await client.connectConsumer({ groupId, maxWaitMs: MAX_WAIT_MS });
  consumers.push(consumer);
  const received: Received[] = [];
  const highWatermarks = new Map<number, string>();
  const committed = new Map<number, number>();
  await consumer.subscribe([topic], { fromBeginning: true });
  await consumer.run(async (batch, control) => {
    for (const m of batch.messages) {
      received.push({
        topic: batch.topic,
        partition: batch.partition,
        offset: Number(m.offset),
        key: m.key === null ? null : m.key.toString(),
        value: m.value === null ? null : m.value.toString(),
        timestamp: m.timestamp,
      });
    }
    highWatermarks.set(batch.partition, batch.highWatermark);
    await control.heartbeat();
    const last = batch.messages.at(-1);
    if (last && (options.commit?.(batch) ?? true)) {
      const next = Number(last.offset) + 1;
      await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: String(next) }]);
      committed.set(batch.partition, next);
    }
  });
  return { consumer, received, highWatermarks, committed };
}

async function stopConsumer(consumer: KafkaConsumer): Promise<void> {
  consumers.splice(consumers.indexOf(consumer), 1);
  await consumer.disconnect();
}

async function waitFor(what: string, condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function keyed(count: number, from: number, baseTime: number): ProduceMessage[] {
  return Array.from({ length: count }, (_, i) => ({
    key: `key-${from + i}`,
    value: JSON.stringify({ n: from + i }),
    timestamp: String(baseTime + from + i),
  }));
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

function countByPartition(received: Received[]): Map<number, number> {
  const counts = new Map<number, number>();
  for (const r of received) counts.set(r.partition, (counts.get(r.partition) ?? 0) + 1);
  return counts;
}

describe('kafkajs client against a real broker', () => {
  it('shares the broker address with workers through the environment', () => {
    expect(brokers).toMatch(/^[^,\s]+:\d+(,[^,\s]+:\d+)*$/);
    expect(process.env.KAFKA_BROKERS).toBe(brokers);
  });

  it('consumes every produced message once, with keys, values, timestamps and contiguous offsets', async () => {
    const topic = await createTopic('consume-all', 6);
    const baseTime = 1_700_000_000_000;
    const messages = keyed(600, 0, baseTime);
    await producer.send(topic, messages.slice(0, 300));
    await producer.send(topic, messages.slice(300));
    // A tombstone without key, placed explicitly: null key and value must come back as null.
    await producer.send(topic, [{ key: null, value: null, partition: 5, timestamp: String(baseTime - 1) }]);

    const groupId = uniqueName('group');
    const { consumer, received, highWatermarks, committed } = await startConsumer(groupId, topic);
    await waitFor('601 messages', () => received.length >= 601);

    expect(received).toHaveLength(601);
    const byKey = new Map(received.filter((r) => r.key !== null).map((r) => [r.key, r]));
    expect(byKey.size).toBe(600);
    for (const m of messages) {
      const got = byKey.get(m.key as string);
      expect(got?.value).toBe(m.value);
      expect(got?.timestamp).toBe(m.timestamp);
    }
    const counts = countByPartition(received);
    expect([...counts.keys()].sort()).toEqual([0, 1, 2, 3, 4, 5]);
    for (const [partition, count] of counts) {
      const offsets = received.filter((r) => r.partition === partition).map((r) => r.offset);
      expect(offsets).toEqual(range(0, count));
    }
    // Sent after the keyed messages, so it is the last record of partition 5.
    expect(received.filter((r) => r.key === null)).toEqual([
      { topic, partition: 5, offset: counts.get(5)! - 1, key: null, value: null, timestamp: String(baseTime - 1) },
    ]);

    const expectedEnd = [0, 1, 2, 3, 4, 5].map((partition) => ({ partition, offset: String(counts.get(partition)) }));
    expect(await admin.endOffsets(topic)).toEqual(expectedEnd);
    expect(await consumer.endOffsets(topic)).toEqual(expectedEnd);
    for (const { partition, offset } of expectedEnd) expect(highWatermarks.get(partition)).toBe(offset);
    await waitFor('commits of all partitions', () => [...committed.values()].reduce((a, b) => a + b, 0) === 601);
    expect(await consumer.committedOffsets(topic)).toEqual(expectedEnd);
    await stopConsumer(consumer);
  });

  it('resumes after the committed offsets when the group reconnects, redelivering only what was not committed', async () => {
    const topic = await createTopic('resume', 6);
    const groupId = uniqueName('group');
    const baseTime = 1_700_000_000_000;

    // First consumer: commits everything of wave 1, sees wave 2 but commits none of it.
    const wave1 = keyed(300, 0, baseTime);
    const wave2 = keyed(300, 300, baseTime);
    let commitWave1Only = true;
    const first = await startConsumer(groupId, topic, { commit: () => commitWave1Only });
    await producer.send(topic, wave1);
    await waitFor('wave 1 committed', () => [...first.committed.values()].reduce((a, b) => a + b, 0) === 300);
    const committedAfterWave1 = await first.consumer.committedOffsets(topic);
    commitWave1Only = false;
    await producer.send(topic, wave2);
    await waitFor('wave 2', () => first.received.length >= 600);
    expect(first.received).toHaveLength(600);
    await stopConsumer(first.consumer);

    // The committed offsets are exactly the end of wave 1 in each partition.
    const wave1Counts = countByPartition(first.received.filter((r) => Number(r.key?.slice(4)) < 300));
    expect(committedAfterWave1).toEqual(
      [0, 1, 2, 3, 4, 5].map((partition) => ({ partition, offset: String(wave1Counts.get(partition) ?? 0) })),
    );
    expect(await admin.committedOffsets(groupId, topic)).toEqual(committedAfterWave1);

    // Same group again: exactly wave 2, starting at the committed offsets.
    const second = await startConsumer(groupId, topic);
    await waitFor('redelivered wave 2', () => second.received.length >= 300);
    await new Promise((resolve) => setTimeout(resolve, 3 * MAX_WAIT_MS));
    expect(second.received).toHaveLength(300);
    expect(new Set(second.received.map((r) => r.key))).toEqual(new Set(wave2.map((m) => m.key)));
    const end = await admin.endOffsets(topic);
    for (const { partition, offset } of committedAfterWave1) {
      const offsets = second.received.filter((r) => r.partition === partition).map((r) => r.offset);
      expect(offsets).toEqual(range(Number(offset), Number(end[partition]?.offset)));
    }
    await stopConsumer(second.consumer);
  });

  it('stops delivering a paused partition until it is resumed, and seeks back', async () => {
    const topic = await createTopic('pause', 2);
    const toBoth = (from: number) =>
      [0, 1].flatMap((partition) =>
        Array.from({ length: 5 }, (_, i) => ({ key: null, value: `${partition}:${from + i}`, partition })),
      );
    const { consumer, received } = await startConsumer(uniqueName('group'), topic);
    await producer.send(topic, toBoth(0));
    await waitFor('first 10', () => received.length >= 10);

    consumer.pause([{ topic, partitions: [0] }]);
    await producer.send(topic, toBoth(5));
    await waitFor('partition 1 while 0 is paused', () => received.filter((r) => r.partition === 1).length >= 10);
    // Several fetch rounds pass: a paused partition must still get nothing.
    await new Promise((resolve) => setTimeout(resolve, 5 * MAX_WAIT_MS));
    expect(countByPartition(received)).toEqual(
      new Map([
        [0, 5],
        [1, 10],
      ]),
    );

    consumer.resume([{ topic, partitions: [0] }]);
    await waitFor('partition 0 after resume', () => received.length >= 20);
    expect(received.filter((r) => r.partition === 0).map((r) => r.value)).toEqual(
      Array.from({ length: 10 }, (_, i) => `0:${i}`),
    );

    consumer.seek({ topic, partition: 1, offset: '7' });
    await waitFor('partition 1 from offset 7 again', () => received.length >= 23);
    await new Promise((resolve) => setTimeout(resolve, 3 * MAX_WAIT_MS));
    expect(received.slice(20).map((r) => [r.partition, r.offset, r.value])).toEqual([
      [1, 7, '1:7'],
      [1, 8, '1:8'],
      [1, 9, '1:9'],
    ]);
    await stopConsumer(consumer);
  });

  it('reports lag from committed and end offsets', async () => {
    const topic = await createTopic('lag', 3);
    const groupId = uniqueName('group');
    const produce = (partition: number, count: number) =>
      Array.from({ length: count }, (_, i) => ({ key: null, value: `${partition}:${i}`, partition }));
    await producer.send(topic, [...produce(0, 5), ...produce(1, 7)]);

    const { consumer, received } = await startConsumer(groupId, topic, { commit: () => false });
    await waitFor('12 messages', () => received.length >= 12);
    expect(await consumer.committedOffsets(topic)).toEqual([
      { partition: 0, offset: null },
      { partition: 1, offset: null },
      { partition: 2, offset: null },
    ]);
    await consumer.commitOffsets([
      { topic, partition: 0, offset: '3' },
      { topic, partition: 1, offset: '7' },
    ]);

    const committed = await consumer.committedOffsets(topic);
    const end = await consumer.endOffsets(topic);
    expect(committed).toEqual([
      { partition: 0, offset: '3' },
      { partition: 1, offset: '7' },
      { partition: 2, offset: null },
    ]);
    expect(end).toEqual([
      { partition: 0, offset: '5' },
      { partition: 1, offset: '7' },
      { partition: 2, offset: '0' },
    ]);
    const lag = end.map(({ partition, offset }) => {
      const next = committed.find((c) => c.partition === partition)?.offset ?? '0';
      return Number(offset) - Number(next);
    });
    expect(lag).toEqual([2, 0, 0]);
    await stopConsumer(consumer);
    // Commits outlive the consumer.
    expect(await admin.committedOffsets(groupId, topic)).toEqual(committed);
  });

  it('routes kafkajs logs to the pino logger it is given, without the partitioner warning', async () => {
    const lines: Array<{ level: number; component?: string; namespace?: string; msg: string }> = [];
    const logger = pino({ level: 'trace' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const logged = createKafkajsClient({ brokers: brokers.split(','), clientId: 'shadowdiff-log-test' }, logger);
    const topic = await createTopic('logs', 1);
    const loggedProducer = await logged.connectProducer();
    await loggedProducer.send(topic, [{ key: 'k', value: 'v' }]);
    await loggedProducer.disconnect();

    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((line) => line.component === 'kafkajs' && typeof line.namespace === 'string')).toBe(true);
    // kafkajs DEBUG request tracing lands at pino trace (10).
    expect(lines.some((line) => line.level === 10 && line.msg.startsWith('Request Produce'))).toBe(true);
    expect(lines.filter((line) => /partitioner/i.test(line.msg))).toEqual([]);
  });

  it('schedules no negative timeouts and no 1 ms loop after a response (kafkajs#1704, #1751)', async () => {
    const require = createRequire(import.meta.url);
    const queue = require('kafkajs/src/network/requestQueue/index.js').prototype;
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);
    process.on('warning', onWarning);
    const check = vi.spyOn(queue, 'checkPendingRequests');
    const own = createKafkajsClient({ brokers: brokers.split(','), clientId: 'shadowdiff-test' });
    const idle = await own.connectAdmin();
    try {
      const topic = await createTopic('timers', 1);
      for (let i = 0; i < 3; i++) await idle.endOffsets(topic);
      const afterRequests = check.mock.calls.length;
      // An idle connection: the old queue re-checked itself every millisecond from here on.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(check.mock.calls.length - afterRequests).toBeLessThan(5);
      expect(warnings.filter((warning) => warning.startsWith('TimeoutNegativeWarning'))).toEqual([]);
    } finally {
      check.mockRestore();
      process.off('warning', onWarning);
      await idle.disconnect();
    }
  });
});
