import { createHash, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { RECORD_SEPARATOR } from '../../../src/align/ingest.js';
import { samplingThreshold } from '../../../src/align/keys.js';
import type { PreparedBatch } from '../../../src/align/prepare.js';
import type { SourceThreadSpec } from '../../../src/sources/thread/protocol.js';
import { ThreadedSource } from '../../../src/sources/thread/threaded-source.js';
import { kafkaFixture } from '../../helpers/kafka.js';
import { waitFor } from '../../helpers/wait.js';

/** ThreadedSource (a Kafka side consumed on its own thread) against the real broker of test/global-setup.ts. */
const kafka = kafkaFixture('shadowdiff-thread-test');
const { brokers } = kafka;

function spec(topic: string, overrides: Partial<SourceThreadSpec> = {}): SourceThreadSpec {
  return {
    connection: { brokers: brokers.split(','), clientId: 'shadowdiff-thread-test' },
    source: { topic, groupId: `group-${topic}`, fromBeginning: true },
    decode: { format: 'json', maxMessageBytes: 1024, registryUrl: 'http://127.0.0.1:1' },
    prepare: { recordKeys: true, recordTimestamps: false, deadLetterLimit: 5 },
    logLevel: null,
    ...overrides,
  };
}

/** Two partitions of 50 records each; in partition 1, offset 7 is not UTF-8. */
async function filledTopic(): Promise<string> {
  const topic = `thread-${randomUUID().slice(0, 8)}`;
  await kafka.admin.createTopics([{ topic, partitions: 2 }]);
  for (const partition of [0, 1]) {
    await kafka.producer.send(
      topic,
      Array.from({ length: 50 }, (_, i) => ({
        key: `k${partition}-${i}`,
        value: partition === 1 && i === 7 ? Buffer.from([0xff]) : JSON.stringify({ partition, i }),
        partition,
      })),
    );
  }
  return topic;
}

interface Received {
  docs: string[];
  keys: string[];
  positions: Map<string, number>;
  invalid: Map<string, number>;
  sampledOut: number;
  records: number;
}

function collector(): { received: Received; handler: (batch: PreparedBatch) => Promise<void> } {
  const received: Received = {
    docs: [],
    keys: [],
    positions: new Map(),
    invalid: new Map(),
    sampledOut: 0,
    records: 0,
  };
  return {
    received,
    handler: async (batch) => {
      received.records += batch.records;
      received.sampledOut += batch.sampledOut;
      for (const pack of batch.partitions) {
        received.docs.push(...Buffer.from(pack.docs).toString('utf8').split(RECORD_SEPARATOR));
        received.keys.push(...(pack.keys ?? '').split(RECORD_SEPARATOR));
      }
      for (const [source, position] of batch.positions) received.positions.set(source, position);
      for (const [reason, n] of batch.invalid) received.invalid.set(reason, (received.invalid.get(reason) ?? 0) + n);
    },
  };
}

describe('threaded source', () => {
  it('delivers prepared batches after the durable positions, with exact counts, and commits', async () => {
    const topic = await filledTopic();
    const source = new ThreadedSource(spec(topic));
    const { received, handler } = collector();
    try {
      await source.start(handler, {
        skipThrough: new Map([[`${topic}/0`, 19]]),
        countedThrough: new Map([[`${topic}/0`, 19]]),
      });
      // 30 records of partition 0 (offsets 20..49) and all 50 of partition 1, one of them invalid.
      await waitFor(() => received.records === 80, 30_000, 'every record after the durable positions');
      expect(received.docs).toHaveLength(79);
      expect(new Set(received.docs).size).toBe(79);
      expect(received.docs).not.toContain(JSON.stringify({ partition: 0, i: 19 }));
      expect(received.docs).toContain(JSON.stringify({ partition: 0, i: 20 }));
      expect(received.keys).toContain('k1-49');
      expect(Object.fromEntries(received.invalid)).toEqual({ malformed: 1 });
      expect(Object.fromEntries(received.positions)).toEqual({ [`${topic}/0`]: 49, [`${topic}/1`]: 49 });
      await waitFor(() => source.isConnected() && source.backlog() === 0, 10_000, 'connected, no backlog');
      expect(source.partitions()).toEqual([`${topic}/0`, `${topic}/1`]);
      await source.commit(received.positions);
      expect(await kafka.admin.committedOffsets(`group-${topic}`, topic)).toEqual([
        { partition: 0, offset: '50' },
        { partition: 1, offset: '50' },
      ]);
      expect(source.hasEnded()).toBe(false);
      // The source thread runs at a lower priority than this one (Linux: per thread).
      if (process.platform === 'linux') expect(threadNiceValues()).toContain(getPriority() + 5);
    } finally {
      await source.stop();
    }
    expect(source.isConnected()).toBe(false);
  });

  it('counts and drops records of unsampled keys in the thread, by their Kafka key', async () => {
    const topic = await filledTopic();
    const sampling = { key: ['$kafkaKey'], keyAsText: false, format: 'json' as const, rate: 0.3 };
    const source = new ThreadedSource(
      spec(topic, { prepare: { recordKeys: true, recordTimestamps: false, deadLetterLimit: 5, sampling } }),
    );
    const { received, handler } = collector();
    // SPEC §3 written out apart from the sampler.
    const sampled = (key: string) =>
      createHash('md5').update(key).digest().readBigUInt64LE(0) < (samplingThreshold(0.3) as bigint);
    const keys = [0, 1].flatMap((partition) => Array.from({ length: 50 }, (_, i) => `k${partition}-${i}`));
    try {
      await source.start(handler, { skipThrough: new Map(), countedThrough: new Map() });
      await waitFor(() => received.records === 100, 30_000, 'every record');
    } finally {
      await source.stop();
    }
    expect(received.sampledOut).toBe(keys.filter((key) => !sampled(key)).length);
    // The record that is not UTF-8 is invalid only when its key is sampled: its value is never read otherwise.
    const invalid = sampled('k1-7') ? 1 : 0;
    expect(Object.fromEntries(received.invalid)).toEqual(invalid ? { malformed: 1 } : {});
    expect(received.keys.sort()).toEqual(keys.filter((key) => sampled(key) && key !== 'k1-7').sort());
    expect(Object.fromEntries(received.positions)).toEqual({ [`${topic}/0`]: 49, [`${topic}/1`]: 49 });
  });

  it('carries texts in shared memory while it has room, in buffers of their own when not', async () => {
    // A partition's pack is ~1,150 bytes: the smaller ring holds one unless packs are released.
    for (const [releasing, ringBytes] of [
      [false, 1_500],
      [true, 2_400],
    ] as const) {
      const topic = await filledTopic();
      const source = new ThreadedSource(spec(topic), { ringBytes });
      const { received, handler } = collector();
      const carried = { ring: 0, own: 0 };
      try {
        await source.start(
          async (batch) => {
            for (const pack of batch.partitions) carried[pack.ring ? 'ring' : 'own']++;
            await handler(batch);
            if (releasing) for (const pack of batch.partitions) pack.release?.();
          },
          { skipThrough: new Map(), countedThrough: new Map() },
        );
        await waitFor(() => received.records === 100, 30_000, 'every record');
      } finally {
        await source.stop();
      }
      expect(new Set(received.docs).size).toBe(99);
      expect(received.docs).toContain(JSON.stringify({ partition: 1, i: 49 }));
      expect(carried.ring).toBeGreaterThan(0);
      if (releasing) expect(carried.own).toBe(0);
      else expect(carried.own).toBeGreaterThan(0);
    }
  });

  it('pauses and resumes delivery', async () => {
    const topic = await filledTopic();
    const source = new ThreadedSource(spec(topic));
    const { received, handler } = collector();
    try {
      await source.start(handler, { skipThrough: new Map(), countedThrough: new Map() });
      await waitFor(() => received.records === 100, 30_000, 'the first records');
      source.pause();
      expect(source.isPaused()).toBe(true);
      // A fetch in flight when pausing may still deliver; then nothing more until resumed.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      await kafka.producer.send(topic, [{ value: '{"late": true}', partition: 0 }]);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(received.records).toBe(100);
      source.resume();
      await waitFor(() => received.records === 101, 30_000, 'the record produced while paused');
    } finally {
      await source.stop();
    }
  });

  it("hands the thread's log lines to this thread's logger", async () => {
    const topic = await filledTopic();
    const lines: Record<string, unknown>[] = [];
    const logger = pino(
      { level: 'debug' },
      new Writable({
        write(chunk, _encoding, done) {
          lines.push(JSON.parse(chunk.toString()));
          done();
        },
      }),
    );
    const source = new ThreadedSource(spec(topic, { logLevel: 'debug' }), { logger });
    try {
      await source.start(collector().handler, { skipThrough: new Map(), countedThrough: new Map() });
      await waitFor(() => lines.some((line) => line.component === 'kafkajs'), 30_000, 'a kafkajs log line');
      // Logged again here with the fields kafkajs gave.
      expect(lines.find((line) => line.component === 'kafkajs')).toMatchObject({ namespace: expect.any(String) });
    } finally {
      await source.stop();
    }
  });

  it('fails start with the reason when the thread cannot set up its source', async () => {
    const crashes: Error[] = [];
    const source = new ThreadedSource(
      spec('never-created', {
        decode: { format: 'avro-schema', schema: '/nonexistent/schema.avsc', maxMessageBytes: 1024, registryUrl: '' },
      }),
      { onCrash: (error) => crashes.push(error) },
    );
    await expect(
      source.start(collector().handler, { skipThrough: new Map(), countedThrough: new Map() }),
    ).rejects.toThrow(/schema/);
    expect(source.isConnected()).toBe(false);
    expect(crashes).toHaveLength(1);
    await source.stop();
  });
});

/** The nice value of every thread of this process, from /proc. */
function threadNiceValues(): number[] {
  return readdirSync('/proc/self/task').map((task) => {
    const stat = readFileSync(`/proc/self/task/${task}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
  });
}
