import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createConnection, createServer, type Server } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { kafkaFixture } from '../helpers/kafka.js';
import { freePort, getJson, startServe } from '../helpers/serve.js';
import { finalCounts, streamTruth } from '../helpers/stream-data.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

/** `shadowdiff serve` as a real process (`npm run build` first): how it starts, and how it refuses to. */
const CLI = new URL('../../dist/cli/main.js', import.meta.url).pathname;
const kafka = kafkaFixture('shadowdiff-serve-test');
const { brokers } = kafka;
const files = tempDir();

afterAll(async () => {
  files.remove();
});

interface Run {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
}

function serve(config: string, env: NodeJS.ProcessEnv = {}): Run {
  const child = spawn(process.execPath, [CLI, 'serve', '--config', config], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  return { child, stdout: () => stdout, stderr: () => stderr };
}

/** The exit code, or a failure if the process is still running after `timeoutMs` (it is killed then). */
async function exitOf(run: Run, timeoutMs: number): Promise<number | null> {
  if (run.child.exitCode !== null) return run.child.exitCode;
  const timer = setTimeout(() => run.child.kill('SIGKILL'), timeoutMs);
  const [code, signal] = await once(run.child, 'exit');
  clearTimeout(timer);
  if (signal === 'SIGKILL') throw new Error(`still running after ${timeoutMs} ms; stderr: ${run.stderr()}`);
  return code;
}

async function stop(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const [code] = await once(child, 'exit');
  clearTimeout(timer);
  return code;
}

const fileComparison = (id: string, live: string, candidate: string) => `
  - id: ${id}
    live: {file: {path: ${live}}}
    candidate: {file: {path: ${candidate}}}
    key: [id]
    time: {field: t}
    window: {size: 1m, allowedLateness: 5s}
    verdict: {tolerance: 0.001, minSamples: 100}`;

const kafkaComparison = (id: string, live: string, candidate: string) => `
  - id: ${id}
    live: {kafka: {topic: ${live}}}
    candidate: {kafka: {topic: ${candidate}}}
    key: [id]
    time: {field: t}
    window: {size: 10s, allowedLateness: 1s, idleTimeout: 5m}
    verdict: {tolerance: 0.001, minSamples: 10}`;

const truth = streamTruth(3000, 50);
const liveFile = files.write('live.ndjson', `${truth.live.join('\n')}\n`);
const candidateFile = files.write('candidate.ndjson', `${truth.candidate.join('\n')}\n`);

describe('shadowdiff serve refuses a bad start at once', () => {
  it('exits 3 naming a zero window size', async () => {
    const config = files.write(
      'zero-window.yaml',
      `storage: {path: ${files.dir}/zero.duckdb}\ncomparisons:${fileComparison('orders', liveFile, candidateFile).replace('size: 1m', 'size: 0s')}\n`,
    );
    const run = serve(config);
    expect(await exitOf(run, 30_000)).toBe(3);
    expect(run.stderr()).toBe('shadowdiff: comparisons[0].window.size: must be greater than 0\n');
  });

  it('exits 3 naming an unset variable and where it is used', async () => {
    const config = files.write(
      'unset.yaml',
      `storage: {path: ${files.dir}/unset.duckdb}\ncomparisons:${kafkaComparison('orders', '${LIVE_TOPIC}', 'x')}\n`,
    );
    const run = serve(config);
    expect(await exitOf(run, 30_000)).toBe(3);
    expect(run.stderr()).toBe(
      'shadowdiff: comparisons[0].live.kafka.topic: ${LIVE_TOPIC} is not set (write ${LIVE_TOPIC:-} to allow an empty value)\n',
    );
  });

  it('exits 3 at once when the port is in use, naming host and port, and leaves storage closed', async () => {
    const port = await freePort();
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(port, '127.0.0.1', resolve));
    try {
      const storage = `${files.dir}/in-use.duckdb`;
      const config = files.write(
        'in-use.yaml',
        `server: {host: 127.0.0.1, port: ${port}}\nstorage: {path: ${storage}}\ncomparisons:${fileComparison('orders', liveFile, candidateFile)}\n`,
      );
      const run = serve(config);
      expect(await exitOf(run, 30_000)).toBe(3);
      expect(run.stderr()).toBe(
        `shadowdiff: cannot listen on 127.0.0.1:${port}: address already in use (EADDRINUSE)\n`,
      );
      // Storage was closed: another process opens it at once.
      const other = await startServe(
        files.write(
          'after-in-use.yaml',
          `server: {host: 127.0.0.1, port: "\${PORT}"}\nstorage: {path: ${storage}}\ncomparisons:${fileComparison('orders', liveFile, candidateFile)}\n`,
        ),
        await freePort(),
      );
      expect(await stop(other)).toBe(0);
    } finally {
      holder.close();
    }
  });

  it('warns that there are no comparisons, and stays ready for some to be created', async () => {
    const port = await freePort();
    const config = files.write(
      'none.yaml',
      `server: {host: 127.0.0.1, port: ${port}}\nstorage: {path: ${files.dir}/none.duckdb}\n`,
    );
    const run = serve(config);
    try {
      await waitFor(() => run.stdout().includes('no comparisons'), 30_000, 'the warning');
      const line = JSON.parse(
        run
          .stdout()
          .split('\n')
          .find((l) => l.includes('no comparisons')) as string,
      );
      expect(line).toMatchObject({ level: 40, config });
      expect(line.msg).toContain('without server.adminToken none can be created');
      expect(run.stdout()).toContain('server.readToken is not set: samples and dead letters answer anyone');
      expect((await getJson(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
    } finally {
      expect(await stop(run.child)).toBe(0);
    }
  });
});

describe('shadowdiff serve with a broker that cannot be reached', () => {
  it('serves HTTP at once, runs the other comparisons, and shows the Kafka one connecting with the error', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const config = files.write(
      'unreachable.yaml',
      `server: {host: 127.0.0.1, port: ${port}, adminToken: t0ken}
storage: {path: ${files.dir}/unreachable.duckdb}
kafka: {brokers: ["127.0.0.1:1"]}
comparisons:${fileComparison('files', liveFile, candidateFile)}${kafkaComparison('orders', 'orders.v1', 'orders.v2')}
  - id: simulated
    live: {simulate: {ratePerSecond: 100}}
    candidate: {simulate: {ratePerSecond: 100}}
    key: [order_id]
    time: {field: event_time}
    window: {size: 1s, allowedLateness: 0s}
`,
    );
    // startServe waits 30 s for /healthz; before, nothing answered while kafkajs retried (~35 s a side).
    const child = await startServe(config, port);
    try {
      await waitFor(
        async () => (await getJson<{ complete: boolean }>(`${base}/v1/comparisons/files/verdict`)).body.complete,
        60_000,
        'the file comparison to complete',
      );
      const summary = await getJson<{ counts: Record<string, number> }>(`${base}/v1/comparisons/files/summary`);
      expect(summary.body.counts).toMatchObject(finalCounts(truth));
      await waitFor(
        async () =>
          (await getJson<{ runtime: { closedWindows: number } }>(`${base}/v1/comparisons/simulated`)).body.runtime
            .closedWindows > 0,
        60_000,
        'a simulated window to close',
      );

      type Item = { id: string; state: string; error?: string };
      await waitFor(
        async () =>
          (await getJson<{ items: Item[] }>(`${base}/v1/comparisons`)).body.items.some(
            (item) => item.id === 'orders' && item.state === 'connecting' && item.error !== undefined,
          ),
        30_000,
        'the connection error',
      );
      const list = await getJson<{ items: Item[] }>(`${base}/v1/comparisons`);
      const orders = list.body.items.find((item) => item.id === 'orders') as Item;
      expect(orders.state).toBe('connecting');
      expect(orders.error).toMatch(/^(live|candidate) source: .*ECONNREFUSED 127\.0\.0\.1:1/);
      const detail = await getJson<{ state: string; runtime: { sides: Record<string, { error?: string }> } }>(
        `${base}/v1/comparisons/orders`,
      );
      expect(detail.body.state).toBe('connecting');
      expect(Object.values(detail.body.runtime.sides).some((side) => /ECONNREFUSED/.test(side.error ?? ''))).toBe(true);
      const ready = await getJson<{ ready: boolean; reasons: string[] }>(`${base}/readyz`);
      expect(ready.status).toBe(503);
      expect(ready.body.reasons).toContainEqual(
        expect.stringMatching(/^orders: (live|candidate) source not connected \(.*ECONNREFUSED/),
      );
      expect(ready.body.reasons.filter((reason) => !reason.startsWith('orders: '))).toEqual([]);

      // Creating a comparison on the unreachable broker answers at once: accepted, connecting.
      const asked = Date.now();
      const created = await fetch(`${base}/v1/comparisons`, {
        method: 'POST',
        headers: { authorization: 'Bearer t0ken', 'content-type': 'application/json' },
        body: JSON.stringify({
          id: 'created',
          live: { kafka: { topic: 'a' } },
          candidate: { kafka: { topic: 'b' } },
          key: ['id'],
        }),
      });
      expect(created.status).toBe(202);
      expect(((await created.json()) as { state: string }).state).toBe('connecting');
      expect(Date.now() - asked).toBeLessThan(30_000);
    } finally {
      // Stopping does not wait for the broker either.
      const stopping = Date.now();
      expect(await stop(child)).toBe(0);
      expect(Date.now() - stopping).toBeLessThan(30_000);
    }
  });

  it('connects once the broker can be reached, and counts exactly', async () => {
    const suffix = randomUUID().slice(0, 8);
    const topics = { live: `late-broker.v1-${suffix}`, candidate: `late-broker.v2-${suffix}` };
    await kafka.admin.createTopics([
      { topic: topics.live, partitions: 1 },
      { topic: topics.candidate, partitions: 1 },
    ]);
    const t0 = Date.UTC(2026, 0, 1, 12, 0, 0);
    const records = (n: number, at: (i: number) => number) =>
      Array.from({ length: n }, (_, i) => ({
        value: JSON.stringify({ id: `r-${i}`, t: new Date(at(i)).toISOString() }),
      }));
    for (const topic of [topics.live, topics.candidate]) {
      await kafka.producer.send(
        topic,
        records(100, (i) => t0 + i * 10),
      );
      // Moves the watermark past the first window and its lateness; pending, never closed.
      await kafka.producer.send(topic, [
        { value: JSON.stringify({ id: 'flush', t: new Date(t0 + 60_000).toISOString() }) },
      ]);
    }

    // The broker is reached through a proxy that is not listening yet. kafkajs goes to the broker's
    // advertised address after the first answer, so the proxy only decides when the first one comes.
    const [broker] = brokers.split(',');
    const [brokerHost, brokerPort] = (broker as string).split(':');
    const proxyPort = await freePort();
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const config = files.write(
      'late-broker.yaml',
      `server: {host: 127.0.0.1, port: ${port}}
storage: {path: ${files.dir}/late-broker.duckdb}
kafka: {brokers: ["127.0.0.1:${proxyPort}"]}
comparisons:${kafkaComparison('orders', topics.live, topics.candidate)}
`,
    );
    const child = await startServe(config, port);
    let proxy: Server | undefined;
    try {
      await waitFor(
        async () => {
          const { body } = await getJson<{ state: string; runtime: { error?: string } }>(
            `${base}/v1/comparisons/orders`,
          );
          return body.state === 'connecting' && body.runtime.error !== undefined;
        },
        30_000,
        'the connection error',
      );

      proxy = createServer((socket) => {
        const upstream = createConnection(Number(brokerPort), brokerHost);
        socket.pipe(upstream).pipe(socket);
        socket.on('error', () => upstream.destroy());
        upstream.on('error', () => socket.destroy());
      });
      await new Promise<void>((resolve) => proxy?.listen(proxyPort, '127.0.0.1', resolve));

      await waitFor(
        async () =>
          (await getJson<{ counts: { equal: number } }>(`${base}/v1/comparisons/orders/summary`)).body.counts.equal ===
          100,
        90_000,
        'the first window to close',
      );
      const detail = await getJson<{ state: string; runtime: { error?: string } }>(`${base}/v1/comparisons/orders`);
      expect(detail.body.state).toBe('running');
      expect(detail.body.runtime.error).toBeUndefined();
      const summary = await getJson<{ counts: Record<string, number> }>(`${base}/v1/comparisons/orders/summary`);
      expect(summary.body.counts).toMatchObject({ equal: 100, different: 0, missing: 0, extra: 0 });
      expect((await getJson(`${base}/readyz`)).status).toBe(200);
    } finally {
      expect(await stop(child)).toBe(0);
      proxy?.close();
    }
  });
});

describe('shadowdiff serve with a read token', () => {
  it('answers samples only to a token, gates and metrics to anyone, and never writes a token', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const read = `rd-${randomUUID()}`;
    const admin = `adm-${randomUUID()}`;
    const config = files.write(
      'read-token.yaml',
      `server: {host: 127.0.0.1, port: ${port}, adminToken: \${ADMIN_TOKEN}, readToken: \${SHADOWDIFF_READ_TOKEN}}
storage: {path: ${files.dir}/read-token.duckdb}
comparisons:${fileComparison('orders', liveFile, candidateFile)}
    redact: "*"
`,
    );
    const run = serve(config, { ADMIN_TOKEN: admin, SHADOWDIFF_READ_TOKEN: read, SHADOWDIFF_LOG_LEVEL: 'trace' });
    try {
      await waitFor(
        () =>
          fetch(`${base}/v1/comparisons/orders/verdict`).then(
            async (r) => r.ok && ((await r.json()) as { complete: boolean }).complete,
            () => false,
          ),
        60_000,
        'the comparison to read all input',
      );
      const samples = `${base}/v1/comparisons/orders/samples?limit=100`;
      const bodies: string[] = [];
      const call = async (url: string, token?: string) => {
        const response = await fetch(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
        bodies.push(`${await response.text()}\n${JSON.stringify([...response.headers])}`);
        return response.status;
      };
      expect(await call(samples)).toBe(401);
      expect(await call(samples, `${read}x`)).toBe(401);
      expect(await call(samples, read)).toBe(200);
      const items = JSON.parse(bodies.at(-1)!.split('\n')[0]!).items as { key?: string; outcome: string }[];
      expect(items.length).toBeGreaterThan(0);
      expect(items.filter((s) => s.key !== undefined).every((s) => s.key === '***')).toBe(true);
      expect(await call(samples, admin)).toBe(200);
      for (const route of ['verdict', 'summary', 'windows', 'gate/regression']) {
        expect(await call(`${base}/v1/comparisons/orders/${route}`)).toBe(route === 'gate/regression' ? 409 : 200);
      }
      for (const route of ['/metrics', '/readyz', '/openapi.json', '/v1/comparisons', '/v1/comparisons/orders']) {
        expect(await call(`${base}${route}`)).toBe(200);
      }
      for (const text of [...bodies, run.stdout(), run.stderr()]) {
        expect(text).not.toContain(read);
        expect(text).not.toContain(admin);
      }
      expect(run.stdout()).toContain('incoming request');
      expect(run.stdout()).not.toContain('server.readToken is not set');
    } finally {
      expect(await stop(run.child)).toBe(0);
    }
  });
});
