import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createKafkajsClient } from '../../../src/sources/kafka/kafkajs-client.js';
import { KafkaSource } from '../../../src/sources/kafka/source.js';
import type { RawRecord } from '../../../src/sources/source.js';
import { kafkaFixture } from '../../helpers/kafka.js';
import { waitFor } from '../../helpers/wait.js';

/** KafkaSource against the real broker of test/global-setup.ts. */
const kafka = kafkaFixture('shadowdiff-source-test');

/** A 2-partition topic with 10 records in each partition, and a group that committed past all of them. */
async function consumedTopic(): Promise<{ topic: string; groupId: string }> {
  const topic = `source-${randomUUID().slice(0, 8)}`;
  const groupId = `group-${topic}`;
  await kafka.admin.createTopics([{ topic, partitions: 2 }]);
  for (const partition of [0, 1]) {
    await kafka.producer.send(
      topic,
      Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: `{"i": ${i}}`, partition })),
    );
  }
  const committer = await kafka.client.connectConsumer({ groupId, maxWaitMs: 200 });
  await committer.subscribe([topic], { fromBeginning: true });
  await committer.run(async () => {});
  await committer.commitOffsets([
    { topic, partition: 0, offset: '10' },
    { topic, partition: 1, offset: '10' },
  ]);
  await committer.disconnect();
  return { topic, groupId };
}

async function consume(source: KafkaSource, durable: Map<string, number>, expected: number): Promise<RawRecord[]> {
  const received: RawRecord[] = [];
  await source.start(async (records) => {
    received.push(...records);
  }, durable);
  try {
    await waitFor(() => received.length >= expected, 30_000, `${expected} records`);
  } finally {
    await source.stop();
  }
  return received;
}

const positions = (records: RawRecord[]) =>
  records
    .map((r) => `${r.partition.split('/')[1]}@${r.offset}`)
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));

describe('KafkaSource', () => {
  it('resumes every partition after its durable position, not where the group committed', async () => {
    const { topic, groupId } = await consumedTopic();
    const source = new KafkaSource(kafka.client, { topic, groupId, fromBeginning: true });
    // Partition 0 durably counted through offset 6; partition 1 nothing yet (a commit that ran ahead of a crash).
    const received = await consume(source, new Map([[`${topic}/0`, 6]]), 13);
    expect(positions(received)).toEqual(['0@7', '0@8', '0@9', ...Array.from({ length: 10 }, (_, i) => `1@${i}`)]);
  });

  it('without a durable position and with fromBeginning: false, starts where the group left off', async () => {
    const { topic, groupId } = await consumedTopic();
    await kafka.producer.send(topic, [{ key: 'new', value: '{"i": 10}', partition: 1 }]);
    const source = new KafkaSource(kafka.client, { topic, groupId, fromBeginning: false });
    expect(positions(await consume(source, new Map(), 1))).toEqual(['1@10']);
  });

  it('starts at once when no broker answers, says why, keeps trying, and stops at once', async () => {
    const unreachable = createKafkajsClient({ brokers: ['127.0.0.1:1'], clientId: 'shadowdiff-source-test' });
    const errors: number[] = [];
    const source = new KafkaSource(unreachable, {
      topic: 'nowhere',
      groupId: 'nowhere',
      fromBeginning: true,
      onConnectError: (_, retryInMs) => errors.push(retryInMs),
    });
    const started = Date.now();
    await source.start(async () => {}, new Map());
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(source.isConnected()).toBe(false);
    await waitFor(() => errors.length >= 2, 30_000, 'a second try');
    expect(source.lastError()).toMatch(/ECONNREFUSED 127\.0\.0\.1:1/);
    // Backoff: each wait longer than the one before.
    expect(errors[1]).toBeGreaterThan(errors[0] as number);
    const stopping = Date.now();
    await source.stop();
    expect(Date.now() - stopping).toBeLessThan(10_000);
  });

  it('says a topic does not exist, and consumes it once it is created', async () => {
    const topic = `later-${randomUUID().slice(0, 8)}`;
    const source = new KafkaSource(kafka.client, { topic, groupId: `group-${topic}`, fromBeginning: true });
    const received: RawRecord[] = [];
    await source.start(async (records) => {
      received.push(...records);
    }, new Map());
    try {
      await waitFor(() => source.lastError() !== null, 30_000, 'the error');
      expect(source.lastError()).toBe(`topic ${topic} does not exist`);
      await kafka.admin.createTopics([{ topic, partitions: 1 }]);
      await kafka.producer.send(topic, [{ key: 'k', value: '{"i": 1}', partition: 0 }]);
      await waitFor(() => received.length === 1, 60_000, 'the record');
      expect(source.lastError()).toBeNull();
      expect(source.partitions()).toEqual([`${topic}/0`]);
    } finally {
      await source.stop();
    }
  });
});
