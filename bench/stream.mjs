// Streaming benchmark (issue: streaming service), against a local Kafka broker.
//   (a) raw consumption of both topics with the same Kafka client and no processing
//   (b) shadowdiff from start until every window is closed and counted, while autocannon polls
//       GET /verdict at 200 requests/s from its own process, as a gate would, until (b) ends (p99
//       latency reported)
// Records per side are pre-loaded into 6-partition topics. Prints a Markdown summary.
//
//   (k) librdkafka's CLI, kcat (Debian package), reading both topics at once: this machine's limit
// With --sample 0.1, (b) runs with that sampling rate (the far records' keys are sampled).
//
//   npm run build && node bench/stream.mjs [--records 1000000] [--brokers 127.0.0.1:19092] [--sample 0.1]
//     [--load-nice=-10]
import { execFile, execFileSync, spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { pino } from 'pino';
import { buildServer } from '../dist/api/server.js';
import { parseConfig } from '../dist/config/load.js';
import { Service } from '../dist/service/service.js';
import { createKafkajsClient } from '../dist/sources/kafka/kafkajs-client.js';

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '1000000' },
    brokers: { type: 'string', default: process.env.KAFKA_BROKERS ?? '' },
    partitions: { type: 'string', default: '6' },
    'load-nice': { type: 'string', default: '' },
    sample: { type: 'string', default: '1' },
  },
});
const root = new URL('..', import.meta.url).pathname;
const count = Number(values.records);
const partitions = Number(values.partitions);
let brokers = values.brokers;
if (!brokers) {
  execFileSync('bash', [join(root, 'scripts/kafka.sh'), 'start'], {
    stdio: 'inherit',
    env: { ...process.env, KAFKA_PORT: '29092' },
  });
  brokers = '127.0.0.1:29092';
}
const sampleRate = Number(values.sample);
// SPEC §3: a key is sampled when the first 8 bytes of its MD5 (little-endian), as a fraction of 2^64, are below the rate.
const sampled = (key) =>
  createHash('md5').update(key).digest().readBigUInt64LE(0) < BigInt(Math.floor(sampleRate * 2 ** 32)) << 32n;
/** A far record's key that is sampled: watermarks follow the records that reach DuckDB. */
const farKey = (partition) => {
  let i = 0;
  while (sampleRate < 1 && !sampled(`flush-${partition}-${i}`)) i++;
  return `flush-${partition}-${i}`;
};
const client = createKafkajsClient({ brokers: brokers.split(','), clientId: 'shadowdiff-bench' });
const admin = await client.connectAdmin();
const suffix = randomUUID().slice(0, 8);
const topics = { live: `bench.live-${suffix}`, candidate: `bench.candidate-${suffix}` };
await admin.createTopics(Object.values(topics).map((topic) => ({ topic, partitions })));

const T0 = Date.UTC(2026, 0, 1);
const STEP_MS = 1; // 1,000 records per second of event time
const WINDOW = '10s';
const windows = Math.ceil((count * STEP_MS) / 10_000);

console.error(`producing ${count} records per side…`);
const producer = await client.connectProducer();
const started = performance.now();
for (const side of ['live', 'candidate']) {
  const chunk = 20_000;
  for (let from = 0; from < count; from += chunk) {
    const messages = [];
    for (let i = from; i < Math.min(count, from + chunk); i++) {
      const record = {
        order_id: `o-${i}`,
        event_time: new Date(T0 + i * STEP_MS).toISOString(),
        customer: { id: i % 9973, tier: ['gold', 'silver'][i % 2] },
        amount: side === 'candidate' && i % 100 === 7 ? i + 1 : i,
        items: [{ sku: `s-${i % 300}`, qty: 1 + (i % 3) }],
        status: 'paid',
      };
      messages.push({ key: record.order_id, value: JSON.stringify(record) });
    }
    await producer.send(topics[side], messages);
  }
  // One far record per partition moves every partition's watermark past the last window.
  await producer.send(
    topics[side],
    Array.from({ length: partitions }, (_, partition) => ({
      key: farKey(partition),
      partition,
      value: JSON.stringify({ order_id: farKey(partition), event_time: new Date(T0 + 10 * count).toISOString() }),
    })),
  );
}
await producer.disconnect();
console.error(`produced in ${((performance.now() - started) / 1000).toFixed(1)} s`);
const total = 2 * (count + partitions);

// (a) raw consumption, no processing: kafkajs on a thread per topic, as shadowdiff consumes each
// side, and kafkajs on the main thread for reference
const RAW_THREAD = `
  import { workerData, parentPort } from 'node:worker_threads';
  const { createKafkajsClient } = await import(workerData.client);
  const client = createKafkajsClient({ brokers: workerData.brokers, clientId: 'raw' });
  const consumer = await client.connectConsumer({ groupId: workerData.groupId, maxWaitMs: 200 });
  await consumer.subscribe([workerData.topic], { fromBeginning: true });
  let seen = 0;
  await consumer.run(async (batch) => {
    seen += batch.messages.length;
    if (seen >= workerData.expected) parentPort.postMessage('done');
  });
`;
async function rawConsumeOnThreads() {
  const begin = performance.now();
  const threads = Object.values(topics).map(
    (topic) =>
      new Worker(RAW_THREAD, {
        eval: true,
        workerData: {
          client: new URL('../dist/sources/kafka/kafkajs-client.js', import.meta.url).href,
          brokers: brokers.split(','),
          groupId: `raw-${randomUUID()}`,
          topic,
          expected: count + partitions,
        },
      }),
  );
  await Promise.all(threads.map((thread) => new Promise((resolve) => thread.once('message', resolve))));
  const seconds = (performance.now() - begin) / 1000;
  await Promise.all(threads.map((thread) => thread.terminate()));
  return seconds;
}

async function rawConsume(client) {
  const begin = performance.now();
  let seen = 0;
  const consumers = [];
  await new Promise((resolve) => {
    for (const topic of Object.values(topics)) {
      (async () => {
        const consumer = await client.connectConsumer({ groupId: `raw-${randomUUID()}`, maxWaitMs: 200 });
        consumers.push(consumer);
        await consumer.subscribe([topic], { fromBeginning: true });
        await consumer.run(async (batch) => {
          seen += batch.messages.length;
          if (seen >= total) resolve();
        });
      })();
    }
  });
  const seconds = (performance.now() - begin) / 1000;
  await Promise.all(consumers.map((c) => c.disconnect()));
  return seconds;
}
/** librdkafka's CLI reading both topics at once, to their end, printing nothing. */
async function kcatConsume() {
  const begin = performance.now();
  const runs = Object.values(topics).map(
    (topic) =>
      new Promise((resolve, reject) => {
        const child = spawn('kcat', ['-C', '-b', brokers, '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%o\\n'], {
          stdio: ['ignore', 'ignore', 'inherit'],
        });
        child.on('error', reject);
        child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`kcat exited with ${code}`))));
      }),
  );
  await Promise.all(runs);
  return (performance.now() - begin) / 1000;
}
const kcatSeconds = await kcatConsume().catch((error) => {
  console.error(`kcat: ${error.message} (apt-get install kcat)`);
  return null;
});
const rawSeconds = await rawConsumeOnThreads();
console.error(`raw consumption: ${rawSeconds.toFixed(1)} s`);
const mainThreadSeconds = await rawConsume(client);
console.error(`raw consumption on the main thread: ${mainThreadSeconds.toFixed(1)} s`);

// (b) shadowdiff until every window is closed
const dir = mkdtempSync(join(tmpdir(), 'shadowdiff-bench-'));
const config = parseConfig({
  storage: { path: join(dir, 'bench.duckdb'), memoryLimit: '1GB' },
  kafka: { brokers: brokers.split(','), clientId: 'shadowdiff-bench' },
  comparisons: [
    {
      id: 'bench',
      live: { kafka: { topic: topics.live } },
      candidate: { kafka: { topic: topics.candidate } },
      key: ['order_id'],
      time: { field: 'event_time' },
      window: { size: WINDOW, allowedLateness: '1s', idleTimeout: '5m' },
      sampling: { rate: sampleRate },
      verdict: { tolerance: 0.001 },
    },
  ],
});
let peakRss = process.memoryUsage().rss;
const rssTimer = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 100);
if (process.env.BENCH_MARKS) console.error(`(b) from ${process.hrtime.bigint() / 1000n}`);
// CPU seconds of the main thread (Linux: the task whose id is the pid), the one that answers HTTP.
function mainThreadCpu() {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
const mainCpuBefore = mainThreadCpu();
// CPU seconds per kind of thread, by name: where each record's cost goes (Linux).
function threadCpu() {
  const seconds = new Map();
  for (const task of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${task}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const kind = name.startsWith('source ')
        ? 'source threads (kafkajs, prepare, keys)'
        : name === 'libuv-worker'
          ? 'libuv pool (DuckDB queries)'
          : name === 'V8Worker'
            ? 'V8 helpers (GC, compiling)'
            : name === 'MainThread'
              ? 'main thread (event loop, binds, HTTP)'
              : 'other threads (DuckDB workers and the rest)';
      seconds.set(kind, (seconds.get(kind) ?? 0) + (Number(fields[11]) + Number(fields[12])) / 100);
    } catch {
      // The thread ended meanwhile.
    }
  }
  return seconds;
}
const threadsBefore = threadCpu();
const begin = performance.now();
const cpuBefore = process.cpuUsage();
// What keeps the event loop from answering /verdict: garbage collection pauses and other stalls.
const gc = { total: 0, max: 0 };
const gcObserver = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    gc.total += entry.duration;
    gc.max = Math.max(gc.max, entry.duration);
  }
});
gcObserver.observe({ entryTypes: ['gc'] });
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
const service = await Service.start(config, pino({ level: 'silent' }));
const app = buildServer({
  registry: service,
  adminToken: '',
  metrics: { contentType: service.promRegistry.contentType, render: () => service.promRegistry.metrics() },
  logger: false,
});
await app.listen({ host: '127.0.0.1', port: 0 });
const port = app.server.address().port;
// The load runs in its own process: in this one it would compete with the service for the event loop.
// It polls until (b) ends (SIGINT), so every request is one made while ingesting.
const LOAD = `
  import autocannon from 'autocannon';
  const instance = autocannon({ url: process.argv[1], connections: 4, overallRate: 200, duration: 3600 });
  process.once('SIGINT', () => instance.stop());
  instance.on('done', (result) => console.log(JSON.stringify(result)));
`;
let loadProcess;
const load = new Promise((resolve, reject) => {
  loadProcess = execFile(
    process.execPath,
    ['--input-type=module', '-e', LOAD, `http://127.0.0.1:${port}/v1/comparisons/bench/verdict`],
    { cwd: root, maxBuffer: 16 * 2 ** 20 },
    (error, stdout) => (error ? reject(error) : resolve(JSON.parse(stdout))),
  );
  // A gate polls from a machine of its own; here it shares the two cores. `--load-nice=-10` (root
  // only) lets it take a core first, which is closer to that: the latency is then the service's.
  if (values['load-nice']) execFileSync('renice', ['-n', values['load-nice'], '-p', String(loadProcess.pid)]);
});
const runner = service.get('bench');
await new Promise((resolve) => {
  const timer = setInterval(() => {
    if (runner.runtime().closedWindows >= windows) {
      clearInterval(timer);
      resolve();
    }
  }, 20);
});
const shadowSeconds = (performance.now() - begin) / 1000;
if (process.env.BENCH_MARKS) console.error(`(b) to ${process.hrtime.bigint() / 1000n}`);
const cpu = process.cpuUsage(cpuBefore);
const mainCpu = mainThreadCpu() - mainCpuBefore;
const threadsAfter = threadCpu();
gcObserver.disconnect();
loopDelay.disable();
clearInterval(rssTimer);
loadProcess.kill('SIGINT');
const latency = await load;
const summary = await runner.summary();
await app.close();
await service.stop();
await admin.disconnect();
rmSync(dir, { recursive: true, force: true });
const changed = Array.from({ length: count / 100 }, (_, j) => `o-${j * 100 + 7}`).filter(
  (key) => sampleRate >= 1 || sampled(key),
);
if (summary.counts.different !== changed.length)
  throw new Error(`expected ${changed.length} different, got ${summary.counts.different}`);

const rate = (seconds) => Math.round((2 * count) / seconds).toLocaleString('en');
console.log(`| measure | value |`);
console.log(`|---|---:|`);
console.log(`| records per side / partitions per topic | ${count.toLocaleString('en')} / ${partitions} |`);
console.log(`| sampling rate of (b) | ${sampleRate} |`);
if (kcatSeconds !== null)
  console.log(
    `| (k) kcat (librdkafka) reading both topics at once | ${kcatSeconds.toFixed(1)} s = ${rate(kcatSeconds)} records/s |`,
  );
console.log(
  `| (a) raw consumption of both topics (kafkajs, a thread per topic as in shadowdiff, no processing) | ${rawSeconds.toFixed(1)} s = ${rate(rawSeconds)} records/s |`,
);
console.log(
  `| (a') the same with kafkajs on the main thread | ${mainThreadSeconds.toFixed(1)} s = ${rate(mainThreadSeconds)} records/s |`,
);
console.log(
  `| (b) shadowdiff, start until all ${windows} windows closed | ${shadowSeconds.toFixed(1)} s = ${rate(shadowSeconds)} records/s |`,
);
console.log(`| (b) / (a) throughput | ${(rawSeconds / shadowSeconds).toFixed(2)} |`);
if (kcatSeconds !== null) console.log(`| (b) / (k) throughput | ${(kcatSeconds / shadowSeconds).toFixed(2)} |`);
console.log(
  `| CPU of this process during (b); of it, the main thread | ${((cpu.user + cpu.system) / 1e6 / shadowSeconds).toFixed(2)} cores; ${(mainCpu / shadowSeconds).toFixed(2)} cores |`,
);
console.log(
  `| event loop during (b): delay p99 / max; GC total / longest pause | ${(loopDelay.percentile(99) / 1e6).toFixed(0)} / ${(loopDelay.max / 1e6).toFixed(0)} ms; ${(gc.total / 1000).toFixed(1)} s / ${gc.max.toFixed(0)} ms |`,
);
console.log(
  `| CPU per consumed record during (b), all threads | ${((cpu.user + cpu.system) / (2 * count)).toFixed(1)} µs |`,
);
for (const [kind, seconds] of threadsAfter) {
  const spent = seconds - (threadsBefore.get(kind) ?? 0);
  console.log(`| … ${kind} | ${((spent * 1e6) / (2 * count)).toFixed(1)} µs |`);
}
console.log(`| peak RSS during (b) | ${(peakRss / 2 ** 20).toFixed(0)} MiB |`);
console.log(
  `| GET /verdict under 200 req/s while ingesting: p50 / p99 | ${latency.latency.p50} ms / ${latency.latency.p99} ms (${latency.requests.total} requests, ${latency.non2xx} non-2xx) |`,
);
