// Cost at rest (issue "Cost at rest"): what `shadowdiff serve` costs while it runs, in CPU and
// memory. Starts the built CLI as its own process on
//   default  the shipped config/shadowdiff.yaml (simulated live, candidate and control), its rate per
//            side scaled with --rate (500 records/s per side is the shipped 1.5k records/s)
//   idle     one comparison whose two sides follow empty files: no traffic at all
//   kafka-idle  one comparison on two empty Kafka topics (--brokers, default $KAFKA_BROKERS)
//   stopped  traffic that stopped: two followed files of 30,000 records each (30 s of event time,
//            read at start), then nothing; windows closed, the last one open, watermarks held
// waits out the warm-up, then reads the process's utime + stime (all threads) from /proc/<pid>/stat
// over the measured span, and its RSS. Prints CPU as % of one core and µs of CPU per record consumed
// (summary counts of all sides, before and after the span). --cli measures another build (e.g. the
// code before a change, built elsewhere), so before and after run in one session, interleaved.
//
//   npm run build && node bench/cost.mjs [--scenario default|idle|kafka-idle|stopped|both] [--rate 500]
//     [--warmup 20] [--seconds 60] [--repeat 1] [--cli dist/cli/main.js]… [--brokers host:port] [--json]
// (both = idle and default)
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { parse, stringify } from 'yaml';
import { createKafkajsClient } from '../dist/sources/kafka/kafkajs-client.js';

const { values } = parseArgs({
  options: {
    scenario: { type: 'string', default: 'both' },
    rate: { type: 'string', default: '500' },
    warmup: { type: 'string', default: '20' },
    seconds: { type: 'string', default: '60' },
    repeat: { type: 'string', default: '1' },
    cli: { type: 'string', multiple: true },
    brokers: { type: 'string', default: process.env.KAFKA_BROKERS ?? '127.0.0.1:29092' },
    json: { type: 'boolean', default: false },
  },
});
const root = new URL('..', import.meta.url).pathname;
const clis = (values.cli ?? ['dist/cli/main.js']).map((cli) => resolve(cli));
const scenarios = values.scenario === 'both' ? ['idle', 'default'] : [values.scenario];
const rate = Number(values.rate);
const warmupMs = Number(values.warmup) * 1000;
const spanMs = Number(values.seconds) * 1000;
// Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ): 100 on Linux.
const CLOCK_TICKS = 100;

function freePort() {
  return new Promise((done, fail) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
    server.on('error', fail);
  });
}

/** utime + stime of the whole process (every thread), in ms, and its RSS in MiB. */
function usage(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  return { cpuMs: (ticks * 1000) / CLOCK_TICKS, rssMiB: rssKiB / 1024 };
}

const idleComparison = (id, live, candidate) => ({
  id,
  live,
  candidate,
  format: 'json',
  key: ['order_id'],
  time: { field: 'event_time' },
  window: { size: '10s', allowedLateness: '2s', idleTimeout: '30s' },
});

async function configOf(scenario, dir) {
  const shipped = parse(readFileSync(join(root, 'config/shadowdiff.yaml'), 'utf8'));
  const config = { ...shipped, storage: { ...shipped.storage, path: join(dir, 'cost.duckdb') } };
  if (scenario === 'idle') {
    for (const side of ['live', 'candidate']) writeFileSync(join(dir, `${side}.jsonl`), '');
    config.comparisons = [
      idleComparison(
        'idle',
        { file: { path: join(dir, 'live.jsonl'), follow: true } },
        { file: { path: join(dir, 'candidate.jsonl'), follow: true } },
      ),
    ];
  } else if (scenario === 'stopped') {
    const start = Date.now() - 40_000;
    const lines = Array.from({ length: 30_000 }, (_, i) =>
      JSON.stringify({ order_id: `o-${i}`, event_time: new Date(start + i).toISOString(), amount: i % 1000 }),
    );
    for (const side of ['live', 'candidate']) writeFileSync(join(dir, `${side}.jsonl`), `${lines.join('\n')}\n`);
    const followed = (side) => ({ file: { path: join(dir, `${side}.jsonl`), follow: true } });
    // A partition that stopped keeps the watermark where it was, idle or not: the open window stays open.
    config.comparisons = [idleComparison('idle', followed('live'), followed('candidate'))];
  } else if (scenario === 'kafka-idle') {
    const brokers = values.brokers.split(',');
    const suffix = dir.slice(-6).replace(/[^A-Za-z0-9]/g, '');
    const topics = [`cost.live-${suffix}`, `cost.candidate-${suffix}`];
    const admin = await createKafkajsClient({ brokers, clientId: 'shadowdiff-cost' }).connectAdmin();
    await admin.createTopics(topics.map((topic) => ({ topic, partitions: 6 })));
    await admin.disconnect();
    config.kafka = { brokers };
    config.comparisons = [idleComparison('idle', { kafka: { topic: topics[0] } }, { kafka: { topic: topics[1] } })];
  } else {
    for (const comparison of config.comparisons) {
      for (const side of ['live', 'candidate', 'control']) {
        if (comparison[side]?.simulate) comparison[side].simulate.ratePerSecond = rate;
      }
    }
  }
  return config;
}

async function recordsConsumed(port, id) {
  const response = await fetch(`http://127.0.0.1:${port}/v1/comparisons/${id}/summary`);
  const { counts } = await response.json();
  return counts.live + counts.candidate + (counts.control ?? 0);
}

async function measure(cli, scenario) {
  const dir = mkdtempSync(join(tmpdir(), 'shadowdiff-cost-'));
  const config = await configOf(scenario, dir);
  const configPath = join(dir, 'shadowdiff.yaml');
  writeFileSync(configPath, stringify(config));
  const port = await freePort();
  const child = spawn(process.execPath, [cli, 'serve', '--config', configPath], {
    cwd: root,
    env: { ...process.env, PORT: String(port), SHADOWDIFF_HOST: '127.0.0.1', SHADOWDIFF_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    const id = config.comparisons[0].id;
    const ready = Date.now() + 60_000;
    for (;;) {
      const response = await fetch(`http://127.0.0.1:${port}/v1/comparisons/${id}/verdict`).catch(() => undefined);
      if (response?.ok) break;
      if (Date.now() > ready || child.exitCode !== null) throw new Error(`serve did not come up (${cli})`);
      await sleep(250);
    }
    await sleep(warmupMs);
    const recordsBefore = await recordsConsumed(port, id);
    const before = usage(child.pid);
    const startedAt = performance.now();
    const rss = [];
    while (performance.now() - startedAt < spanMs) {
      await sleep(Math.min(5_000, spanMs - (performance.now() - startedAt)));
      rss.push(usage(child.pid).rssMiB);
    }
    const after = usage(child.pid);
    const elapsedMs = performance.now() - startedAt;
    const records = (await recordsConsumed(port, id)) - recordsBefore;
    const cpuMs = after.cpuMs - before.cpuMs;
    return {
      cli,
      scenario,
      ratePerSide: scenario === 'default' ? rate : 0,
      seconds: elapsedMs / 1000,
      cpuPercent: (cpuMs / elapsedMs) * 100,
      records,
      recordsPerSecond: (records / elapsedMs) * 1000,
      usPerRecord: records > 0 ? (cpuMs * 1000) / records : null,
      rssMiB: { mean: rss.reduce((a, b) => a + b, 0) / rss.length, max: Math.max(...rss) },
    };
  } finally {
    child.kill('SIGTERM');
    await new Promise((done) => (child.exitCode !== null ? done() : child.once('exit', done)));
    rmSync(dir, { recursive: true, force: true });
  }
}

// Interleaved: each repetition runs every scenario on every build in turn, so load from elsewhere
// on a shared machine falls on all of them alike.
const results = [];
for (let i = 0; i < Number(values.repeat); i++) {
  for (const scenario of scenarios) {
    for (const cli of clis) {
      const result = await measure(cli, scenario);
      results.push(result);
      console.error(JSON.stringify(result));
    }
  }
}
if (values.json) {
  console.log(JSON.stringify(results, null, 2));
} else {
  console.log('| build | scenario | records/s (all sides) | CPU, % of one core | µs CPU per record | RSS mean / max |');
  console.log('|---|---|---:|---:|---:|---:|');
  for (const r of results) {
    console.log(
      `| ${r.cli} | ${r.scenario} | ${Math.round(r.recordsPerSecond).toLocaleString('en')} | ${r.cpuPercent.toFixed(1)} | ${r.usPerRecord === null ? '–' : r.usPerRecord.toFixed(1)} | ${r.rssMiB.mean.toFixed(0)} / ${r.rssMiB.max.toFixed(0)} MiB |`,
    );
  }
}
