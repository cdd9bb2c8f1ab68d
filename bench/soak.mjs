// Soak benchmark (issue: streaming service): a steady rate per side for some minutes, real-time
// event times, and the service's RSS sampled every 10 s. Memory must stay flat (buffers live in
// DuckDB, not in the JS heap). A child process produces, so the service measures alone.
//
//   npm run build && node bench/soak.mjs [--rate 20000] [--minutes 10] [--brokers 127.0.0.1:19092]
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { parseConfig } from '../dist/config/load.js';
import { Service } from '../dist/service/service.js';
import { createKafkajsClient } from '../dist/sources/kafka/kafkajs-client.js';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '20000' },
    minutes: { type: 'string', default: '10' },
    brokers: { type: 'string', default: process.env.KAFKA_BROKERS ?? '127.0.0.1:19092' },
    produce: { type: 'string' },
  },
});
const rate = Number(values.rate);
const brokers = values.brokers.split(',');
const WINDOW_MS = 10_000;
const LATENESS_MS = 2_000;

if (values.produce) {
  // Producer child: `rate` records per second per side, event time = now, until killed.
  const [live, candidate] = values.produce.split(',');
  const client = createKafkajsClient({ brokers, clientId: 'soak-producer' });
  const producer = await client.connectProducer();
  let i = 0;
  const tickMs = 100;
  for (;;) {
    const started = Date.now();
    const messages = [];
    for (let n = 0; n < (rate * tickMs) / 1000; n++, i++) {
      const record = { order_id: `o-${i}`, event_time: new Date().toISOString(), amount: i % 1000, status: 'paid' };
      messages.push({ key: record.order_id, value: JSON.stringify(record) });
    }
    await Promise.all([producer.send(live, messages), producer.send(candidate, messages)]);
    await sleep(Math.max(0, tickMs - (Date.now() - started)));
  }
}

const client = createKafkajsClient({ brokers, clientId: 'soak' });
const admin = await client.connectAdmin();
const suffix = randomUUID().slice(0, 8);
const topics = { live: `soak.live-${suffix}`, candidate: `soak.candidate-${suffix}` };
await admin.createTopics(Object.values(topics).map((topic) => ({ topic, partitions: 6 })));
await admin.disconnect();
const dir = mkdtempSync(join(tmpdir(), 'shadowdiff-soak-'));
const service = await Service.start(
  parseConfig({
    storage: { path: join(dir, 'soak.duckdb'), memoryLimit: '1GB' },
    kafka: { brokers },
    comparisons: [
      {
        id: 'soak',
        live: { kafka: { topic: topics.live } },
        candidate: { kafka: { topic: topics.candidate } },
        key: ['order_id'],
        time: { field: 'event_time' },
        window: { size: `${WINDOW_MS / 1000}s`, allowedLateness: `${LATENESS_MS / 1000}s`, idleTimeout: '1m' },
      },
    ],
  }),
  pino({ level: 'silent' }),
);
const producer = fork(new URL(import.meta.url).pathname, [
  '--produce',
  `${topics.live},${topics.candidate}`,
  '--rate',
  String(rate),
  '--brokers',
  values.brokers,
]);
// Verdict freshness, two ways. Event time is wall time here, so a window [s, s + 10 s) is due to close
// once the clock passes s + 12 s (its end plus the allowed lateness): when the count of closed
// windows (it moves with the verdict, in the same step) goes up, the newest close was due
// (now − 2 s) mod 10 s ago, which covers consuming the window's last records too. And from the
// moment both sides' watermarks passed s + 12 s (the window closed) to the verdict update.
const freshness = { due: [], closed: [] };
let closedSeen = 0;
let closableSince = new Map();
const freshnessTimer = setInterval(() => {
  const runtime = service.get('soak').runtime();
  const marks = Object.values(runtime.sides).map((side) => side.watermark);
  if (marks.every((mark) => mark !== null)) {
    const closable = Math.floor((Math.min(...marks) - LATENESS_MS) / WINDOW_MS) * WINDOW_MS - WINDOW_MS;
    if (!closableSince.has(closable)) closableSince.set(closable, Date.now());
  }
  if (runtime.closedWindows > closedSeen && closedSeen > 0) {
    freshness.due.push((Date.now() - LATENESS_MS) % WINDOW_MS);
    const newest = Math.max(...closableSince.keys());
    freshness.closed.push(Date.now() - (closableSince.get(newest) ?? Date.now()));
    closableSince = new Map([[newest, closableSince.get(newest)]]);
  }
  closedSeen = runtime.closedWindows;
}, 20);
const samples = [];
const end = Date.now() + Number(values.minutes) * 60_000;
while (Date.now() < end) {
  await sleep(10_000);
  const runner = service.get('soak');
  const { counts } = await runner.summary();
  samples.push({
    t: samples.length * 10,
    rssMiB: process.memoryUsage().rss / 2 ** 20,
    heapMiB: process.memoryUsage().heapUsed / 2 ** 20,
    live: counts.live,
    closed: runner.runtime().closedWindows,
    lag: runner.runtime().sides.candidate?.consumerLag,
  });
  console.error(JSON.stringify(samples.at(-1)));
}
clearInterval(freshnessTimer);
producer.kill();
await service.stop();
rmSync(dir, { recursive: true, force: true });
const steady = samples.slice(Math.floor(samples.length / 5));
const rss = steady.map((s) => s.rssMiB);
const mean = rss.reduce((a, b) => a + b, 0) / rss.length;
console.log(`| measure | value |`);
console.log(`|---|---:|`);
console.log(`| rate per side, duration | ${rate.toLocaleString('en')} records/s, ${values.minutes} min |`);
console.log(`| records consumed (live) | ${samples.at(-1).live.toLocaleString('en')} |`);
console.log(
  `| RSS after warm-up: min / mean / max | ${Math.min(...rss).toFixed(0)} / ${mean.toFixed(0)} / ${Math.max(...rss).toFixed(0)} MiB (max ${(((Math.max(...rss) - mean) / mean) * 100).toFixed(1)}% above mean) |`,
);
console.log(`| first / last RSS sample after warm-up | ${rss[0].toFixed(0)} / ${rss.at(-1).toFixed(0)} MiB |`);
const percentiles = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return `${at(0.5)} / ${at(0.99)} / ${sorted.at(-1)} ms over ${sorted.length} closes`;
};
console.log(
  `| verdict updated after its window closed (watermarks passed): p50 / p99 / max | ${percentiles(freshness.closed)} |`,
);
console.log(
  `| verdict updated after its window's close was due (wall clock): p50 / p99 / max | ${percentiles(freshness.due)} |`,
);
console.log(`| candidate consumer lag at the end | ${samples.at(-1).lag} messages |`);
process.exit(0);
