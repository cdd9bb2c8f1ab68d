// Where a batch diff spends its CPU: the engine's stage callbacks, timed with process.cpuUsage()
// (user + system of the whole process, all threads). Runs `runBatchDiff` of dist/ as
// `shadowdiff diff --key order_id` does, on the files bench/batch.mjs generates; prints a
// Markdown table of CPU seconds per stage, the counts and the peak RSS; `--out` writes the whole result.
//
//   npm run build && node bench/batch-stages.mjs --live /tmp/shadowdiff-bench/1000000/live.ndjson \
//     --candidate /tmp/shadowdiff-bench/1000000/candidate.ndjson
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

process.env.UV_THREADPOOL_SIZE ??= '16';
const { values } = parseArgs({
  options: {
    live: { type: 'string' },
    candidate: { type: 'string' },
    key: { type: 'string', default: 'order_id' },
    out: { type: 'string' },
    // Compared records per key-hash partition (the engine's ROWS_PER_PARTITION when absent).
    'rows-per-partition': { type: 'string' },
  },
});
const { parseComparison } = await import('../dist/config/load.js');
const { runBatchDiff } = await import('../dist/diff/batch.js');

const comparison = parseComparison({
  id: 'batch',
  key: values.key.split(','),
  live: { file: { path: values.live } },
  candidate: { file: { path: values.candidate } },
});
const cpu = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};
const stages = [];
let current = { name: 'start', cpu: cpu(), wall: performance.now() };
const close = () => {
  stages.push({ name: current.name, cpu: cpu() - current.cpu, wall: (performance.now() - current.wall) / 1000 });
  const { name, cpu: seconds } = stages.at(-1);
  console.error(`${new Date().toISOString()} ${name}: ${seconds.toFixed(2)} s CPU`);
};
const result = await runBatchDiff(
  comparison,
  { live: values.live, candidate: values.candidate },
  {
    samples: 5,
    ...(values['rows-per-partition'] ? { tuning: { rowsPerPartition: Number(values['rows-per-partition']) } } : {}),
    stages: {
      onStage: (name) => {
        close();
        current = { name, cpu: cpu(), wall: performance.now() };
      },
    },
  },
);
close();
console.log('| stage | CPU s | wall s |\n|---|---:|---:|');
for (const stage of stages) console.log(`| ${stage.name} | ${stage.cpu.toFixed(2)} | ${stage.wall.toFixed(2)} |`);
const total = stages.reduce((sum, s) => ({ cpu: sum.cpu + s.cpu, wall: sum.wall + s.wall }), { cpu: 0, wall: 0 });
console.log(`| total | ${total.cpu.toFixed(2)} | ${total.wall.toFixed(2)} |`);
console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
console.log(JSON.stringify(result.counts));
// The whole result, to check that a change to the engine leaves counts, fields and samples as they were.
if (values.out) writeFileSync(values.out, JSON.stringify(result, null, 1));
