import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';

const root = '/work/main/dist';
const { parseConfig } = await import(`${root}/config/load.js`);
const { Service } = await import(`${root}/service/service.js`);
const { createKafkajsClient } = await import(`${root}/sources/kafka/kafkajs-client.js`);
const count = Number(process.argv[2] ?? 200000);
const rate = Number(process.argv[3] ?? 1);
const brokers = '127.0.0.1:29092';
const client = createKafkajsClient({ brokers: [brokers], clientId: 'prof' });
const admin = await client.connectAdmin();
const suffix = randomUUID().slice(0, 8);
const topics = { live: `prof.live-${suffix}`, candidate: `prof.candidate-${suffix}` };
await admin.createTopics(Object.values(topics).map((topic) => ({ topic, partitions: 6 })));
const producer = await client.connectProducer();
const T0 = Date.UTC(2026, 0, 1);
for (const side of ['live', 'candidate']) {
  for (let from = 0; from < count; from += 20000) {
    const messages = [];
    for (let i = from; i < Math.min(count, from + 20000); i++) {
      const r = {
        id: `k-${i}`,
        t: new Date(T0 + i).toISOString(),
        amount: side === 'candidate' && i % 100 === 0 ? i + 1 : i,
        name: `customer ${i % 977}`,
        tags: ['a', 'b'],
      };
      messages.push({ key: r.id, value: JSON.stringify(r), partition: i % 6 });
    }
    await producer.send(topics[side], messages);
  }
  const flush = Array.from({ length: 6 }, (_, p) => ({
    key: `f${p}`,
    value: JSON.stringify({ id: `f${p}`, t: new Date(T0 + 10_000_000).toISOString() }),
    partition: p,
  }));
  await producer.send(topics[side], flush);
}
await producer.disconnect();
await admin.disconnect();
const threads = () => {
  const out = new Map();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(tid, { comm, cpu: (Number(f[11]) + Number(f[12])) / 100 });
    } catch {}
  }
  return out;
};
const before = threads();
const dir = mkdtempSync(join(tmpdir(), 'prof-'));
const service = await Service.start(
  parseConfig({
    storage: { path: join(dir, 's.duckdb') },
    kafka: { brokers: [brokers], clientId: 'prof' },
    comparisons: [
      {
        id: 'bench',
        live: { kafka: { topic: topics.live, fromBeginning: true } },
        candidate: { kafka: { topic: topics.candidate, fromBeginning: true } },
        key: ['id'],
        time: { field: 't' },
        window: { size: '10s', allowedLateness: '1s', idleTimeout: '5m' },
        sampling: { rate },
      },
    ],
  }),
  pino({ level: 'warn' }),
);
const t0 = performance.now();
const windows = Math.ceil(count / 10000);
const runner = service.get('bench');
while (runner.runtime().closedWindows < windows) await new Promise((r) => setTimeout(r, 100));
const secs = (performance.now() - t0) / 1000;
const after = threads();
const by = new Map();
let total = 0;
for (const [tid, t] of after) {
  const d = t.cpu - (before.get(tid)?.cpu ?? 0);
  total += d;
  by.set(t.comm, (by.get(t.comm) ?? 0) + d);
}
console.log(
  `records/side ${count} rate ${rate}: ${secs.toFixed(1)} s = ${Math.round((2 * count) / secs)} rec/s; CPU ${total.toFixed(1)} s = ${((total * 1e6) / (2 * count)).toFixed(2)} µs/record`,
);
for (const [comm, cpu] of [...by].sort((a, b) => b[1] - a[1]))
  console.log(`  ${comm.padEnd(18)} ${cpu.toFixed(2)} s  ${((cpu * 1e6) / (2 * count)).toFixed(2)} µs/rec`);
await service.stop();
process.exit(0);
