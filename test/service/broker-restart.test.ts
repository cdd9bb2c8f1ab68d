import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KafkaAdmin, KafkaProducer, ProduceMessage } from '../../src/sources/kafka/client.js';
import { createKafkajsClient } from '../../src/sources/kafka/kafkajs-client.js';
import {
  aheadPartitionScenario,
  createTopicPair,
  flush,
  kafkaServeConfig,
  kafkaTruth,
  produceOrders,
} from '../helpers/kafka-truth.js';
import { kill9, runAheadUntilKilled } from '../helpers/recovery.js';
import { freePort, getJson, startServe } from '../helpers/serve.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Issue 12 item 7, a broker outage, through `dist/` (run `npm run build` first): a broker of this
 * test's own (the run's shared one must stay up for the other tests), stopped and started again
 * with its data kept (`KAFKA_KEEP_DATA=1`), as a real broker restart is.
 */
const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('../../scripts/kafka.sh', import.meta.url));
const OUTAGE_MS = 30_000;
const files = tempDir();
let env: NodeJS.ProcessEnv = {};

async function kafkaScript(command: 'start' | 'stop', keepData = true): Promise<void> {
  try {
    await run('bash', [SCRIPT, command], {
      env: { ...env, KAFKA_KEEP_DATA: keepData ? '1' : '' },
      timeout: 240_000,
    });
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`scripts/kafka.sh ${command} failed:\n${stdout}${stderr}`, { cause: error });
  }
}

/** A listener port and its controller's, both free now. */
async function twoFreePorts(): Promise<[number, number]> {
  const servers = await Promise.all(
    [0, 1].map(
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => (server.address() as { port: number }).port);
  await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  return ports as [number, number];
}

let brokers = '';
beforeAll(async () => {
  const [port, controllerPort] = await twoFreePorts();
  env = {
    ...process.env,
    KAFKA_PORT: String(port),
    KAFKA_CONTROLLER_PORT: String(controllerPort),
    // If this test's process is killed, its broker goes with it.
    KAFKA_STOP_WITH_PID: String(process.pid),
  };
  brokers = `127.0.0.1:${port}`;
  await kafkaScript('start');
});

afterAll(async () => {
  files.remove();
  await kafkaScript('stop', false);
});

async function connect(): Promise<{ admin: KafkaAdmin; producer: KafkaProducer; close(): Promise<void> }> {
  const client = createKafkajsClient({ brokers: [brokers], clientId: 'shadowdiff-broker-restart-test' });
  const admin = await client.connectAdmin();
  const producer = await client.connectProducer();
  return {
    admin,
    producer,
    async close() {
      await producer.disconnect();
      await admin.disconnect();
    },
  };
}

interface Detail {
  state: string;
  runtime: { error?: string };
}

const detail = async (base: string) => (await getJson<Detail>(base)).body;

describe('shadowdiff serve while its Kafka broker stops for 30 s and starts again', () => {
  it('says it is connecting while the broker is away, recovers by itself, and ends with exact counts', async () => {
    const truth = kafkaTruth(6000);
    let kafka = await connect();
    const topics = await createTopicPair(kafka.admin);
    const config = files.write('outage.yaml', kafkaServeConfig(`${files.dir}/outage.duckdb`, brokers, topics));
    const port = await freePort();
    const base = `http://127.0.0.1:${port}/v1/comparisons/orders-v2`;
    const summary = async () =>
      (
        await getJson<{ counts: Record<string, number> & { live: number }; windows: { closed: number } }>(
          `${base}/summary`,
        )
      ).body;

    await produceOrders(kafka.producer, topics, truth, { from: 0, to: 2000 });
    const child = await startServe(config, port);
    try {
      await waitFor(async () => (await summary()).counts.live === 2000, 60_000, '2000 live records counted');
      await kafka.close();
      await kafkaScript('stop');
      const stoppedAt = Date.now();

      let away: Detail | undefined;
      await waitFor(
        async () => {
          const seen = await detail(base);
          if (seen.state === 'connecting' || seen.runtime.error !== undefined) away = seen;
          return away !== undefined;
        },
        OUTAGE_MS,
        'the comparison to say its broker is away',
      );
      // The verdict is still served meanwhile.
      expect((await getJson(`${base}/verdict`)).status).toBe(200);
      console.log(
        `broker away: after ${Date.now() - stoppedAt} ms the comparison said ${JSON.stringify({ state: away?.state, error: away?.runtime.error })}`,
      );
      await sleep(Math.max(0, OUTAGE_MS - (Date.now() - stoppedAt)));

      await kafkaScript('start');
      const startedAt = Date.now();
      kafka = await connect();
      await produceOrders(kafka.producer, topics, truth, { from: 2000, to: truth.count });
      await kafka.producer.send(topics.live, flush());
      await kafka.producer.send(topics.candidate, flush());
      await waitFor(async () => (await summary()).counts.live > 2000, 120_000, 'ingest after the broker came back');
      console.log(`broker back: ingest resumed ${Date.now() - startedAt} ms after it was ready`);
      await waitFor(
        async () => (await summary()).windows.closed >= truth.windows,
        120_000,
        'every window of the orders closed',
      );
      expect((await summary()).counts).toMatchObject(truth.expected);
      const recovered = await detail(base);
      expect(recovered.state).toBe('running');
      expect(recovered.runtime.error).toBeUndefined();
    } finally {
      await kill9(child);
      await kafka.close().catch(() => {});
    }
  }, 300_000);

  it('restarted after kill -9 while its broker is away, closes no window before its restored partitions replay', async () => {
    // Partition 1 is ahead with nothing buffered; until the source connects, only it is known.
    const scenario = await aheadPartitionScenario();
    let kafka = await connect();
    const topics = await createTopicPair(kafka.admin, { partitions: 2 });
    const send = async (messages: ProduceMessage[]) => {
      await kafka.producer.send(topics.live, messages);
      await kafka.producer.send(topics.candidate, messages);
    };
    const storage = `${files.dir}/away.duckdb`;
    const config = files.write(
      'away.yaml',
      kafkaServeConfig(storage, brokers, topics, scenario.sampling, scenario.idleTimeout),
    );
    const port = await freePort();
    const base = `http://127.0.0.1:${port}/v1/comparisons/orders-v2`;
    const summary = async () =>
      (
        await getJson<{
          counts: Record<string, number> & { live: number; candidate: number };
          windows: { closed: number };
          watermarks: Record<string, string | null>;
        }>(`${base}/summary`)
      ).body;

    await send(scenario.before);
    await runAheadUntilKilled({
      config,
      port,
      storage,
      topics,
      countedBefore: scenario.countedBefore,
      summary: summary,
    });
    await send(scenario.after);
    await kafka.close();
    await kafkaScript('stop');

    const second = await startServe(config, port);
    try {
      await waitFor(async () => (await detail(base)).state === 'connecting', 30_000, 'connecting');
      console.log(`restarted while the broker is away: watermarks ${JSON.stringify((await summary()).watermarks)}`);
      await kafkaScript('start');
      kafka = await connect();
      await waitFor(
        async () => (await summary()).windows.closed >= scenario.windows,
        120_000,
        'every window of the orders closed',
      );
      expect((await summary()).counts).toMatchObject(scenario.expected);
    } catch (error) {
      console.log(`after the broker came back: ${JSON.stringify(await summary())}`);
      throw error;
    } finally {
      await kill9(second);
      await kafka.close().catch(() => {});
    }
  }, 300_000);
});
