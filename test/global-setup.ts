/**
 * Vitest global setup: gives the test run a real Kafka broker. With KAFKA_BROKERS set (e.g. a CI
 * service or a broker you already run), that one is used. Otherwise scripts/kafka.sh starts a
 * fresh single-node broker on free ports and the teardown stops it.
 *
 * Tests find the broker in process.env.KAFKA_BROKERS (comma-separated host:port; set here, before
 * vitest forks its workers, so they inherit it) or as `inject('kafkaBrokers')`.
 */
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string;
  }
}

const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('../scripts/kafka.sh', import.meta.url));
/** A cold start fetches ~45 MB of jars from Maven Central first. */
const START_TIMEOUT_MS = 240_000;

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const given = process.env.KAFKA_BROKERS;
  if (given) {
    project.provide('kafkaBrokers', given);
    return undefined;
  }

  const [port, controllerPort] = await freePorts(2);
  const env = {
    ...process.env,
    KAFKA_PORT: String(port),
    KAFKA_CONTROLLER_PORT: String(controllerPort),
    // If this run is killed before its teardown, the broker goes with it.
    KAFKA_STOP_WITH_PID: String(process.pid),
  };
  await kafkaScript('start', env, START_TIMEOUT_MS);

  const brokers = `127.0.0.1:${port}`;
  process.env.KAFKA_BROKERS = brokers;
  project.provide('kafkaBrokers', brokers);

  return async () => {
    delete process.env.KAFKA_BROKERS;
    await kafkaScript('stop', env, 60_000);
  };
}

async function kafkaScript(command: 'start' | 'stop', env: NodeJS.ProcessEnv, timeout: number): Promise<void> {
  try {
    await run('bash', [SCRIPT, command], { env, timeout });
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`scripts/kafka.sh ${command} failed:\n${stdout}${stderr}`, { cause: error });
  }
}

/** Ports the OS hands out as free right now, all distinct (each listener stays open until all are known). */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => {
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('expected a TCP address');
    return address.port;
  });
  await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  return ports;
}
