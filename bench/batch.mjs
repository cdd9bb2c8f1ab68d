// Batch diff benchmark (issue: core engine). For each size, on the same generated files:
//   shadowdiff   `shadowdiff diff --json` end to end (a fresh process)
//   baseline     hand-written DuckDB: read_json both files, FULL OUTER JOIN, per-column IS DISTINCT FROM
//   datacompy    datacompy (pandas backend), what a user would otherwise pick (skipped above --datacompy-max)
// Wall time, CPU time (user + system, all threads) and peak RSS of each process come from
// /usr/bin/time. CPU time is the steadier figure on a shared machine: wall time there depends on
// what else runs. Prints a Markdown table.
//
//   node bench/batch.mjs [--sizes 100000,1000000,5000000] [--dir /tmp/shadowdiff-bench] [--datacompy-max 1000000]
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generateDataset } from './dataset.mjs';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '100000,1000000' },
    dir: { type: 'string', default: '/tmp/shadowdiff-bench' },
    'datacompy-max': { type: 'string', default: '1000000' },
    runs: { type: 'string', default: '1' },
  },
});
const root = new URL('..', import.meta.url).pathname;
const sizes = values.sizes.split(',').map(Number);
const runs = Number(values.runs);

function timed(command, args, env = {}) {
  const result = spawnSync('/usr/bin/time', ['-f', '%e %M %U %S', command, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    maxBuffer: 1 << 30,
  });
  const last = result.stderr.trim().split('\n').at(-1) ?? '';
  const [seconds, kb, user, system] = last.split(' ').map(Number);
  if (!Number.isFinite(seconds)) throw new Error(`${command} failed: ${result.stderr}`);
  return { seconds, cpu: user + system, rssMiB: kb / 1024, stdout: result.stdout, status: result.status };
}

function best(label, fn) {
  let result;
  for (let i = 0; i < runs; i++) {
    const r = fn();
    if (!result || r.seconds < result.seconds) result = r;
  }
  return { label, ...result };
}

const BASELINE = `
import { DuckDBInstance } from '@duckdb/node-api';
const [live, candidate] = process.argv.slice(2);
const instance = await DuckDBInstance.create(':memory:');
const connection = await instance.connect();
const columns = ['customer', 'amount', 'currency', 'status', 'items', 'tags', 'created_at', 'score', 'active'];
const reader = await connection.runAndReadAll(\`
  WITH l AS (SELECT * FROM read_json('\${live}')), c AS (SELECT * FROM read_json('\${candidate}'))
  SELECT count(*) FILTER (l.order_id IS NULL) AS extra, count(*) FILTER (c.order_id IS NULL) AS missing,
    \${columns.map((name) => \`count(*) FILTER (l.\${name} IS DISTINCT FROM c.\${name}) AS \${name}\`).join(', ')}
  FROM l FULL OUTER JOIN c USING (order_id)\`);
console.log(JSON.stringify(reader.getRowObjectsJson()[0]));
`;

function ensureDatacompy() {
  const venv = join(root, 'bench', '.venv');
  if (!existsSync(join(venv, 'bin', 'python'))) {
    execFileSync('python3', ['-m', 'venv', venv], { stdio: 'inherit' });
    execFileSync(join(venv, 'bin', 'pip'), ['install', '-q', 'datacompy', 'pandas'], { stdio: 'inherit' });
  }
  return join(venv, 'bin', 'python');
}

const DATACOMPY = `
import sys, pandas as pd, datacompy
live = pd.read_json(sys.argv[1], lines=True)
candidate = pd.read_json(sys.argv[2], lines=True)
for frame in (live, candidate):
    for column in ('customer', 'items', 'tags'):
        frame[column] = frame[column].astype(str)
compare = datacompy.Compare(live, candidate, join_columns='order_id')
print(len(compare.intersect_rows), len(compare.all_mismatch()))
`;

const rows = [];
for (const size of sizes) {
  const dir = join(values.dir, String(size));
  if (!existsSync(join(dir, 'candidate.ndjson'))) {
    mkdirSync(dir, { recursive: true });
    await generateDataset(dir, size);
  }
  const live = join(dir, 'live.ndjson');
  const candidate = join(dir, 'candidate.ndjson');
  const baselineScript = join(root, 'bench', '.baseline.mjs');
  writeFileSync(baselineScript, BASELINE);
  const baseline = best('baseline', () => timed(process.execPath, [baselineScript, live, candidate]));
  const ours = best('shadowdiff', () =>
    timed(process.execPath, [
      join(root, 'dist/cli/main.js'),
      'diff',
      '--live',
      live,
      '--candidate',
      candidate,
      '--key',
      'order_id',
      '--json',
    ]),
  );
  const counts = JSON.parse(ours.stdout).counts;
  if (counts.different !== size / 100)
    throw new Error(`shadowdiff found ${counts.different} differing rows, expected ${size / 100}`);
  let datacompy;
  if (size <= Number(values['datacompy-max'])) {
    const python = ensureDatacompy();
    const script = join(root, 'bench', '.datacompy.py');
    writeFileSync(script, DATACOMPY);
    datacompy = best('datacompy', () => timed(python, [script, live, candidate]));
  }
  rows.push({ size, baseline, ours, datacompy });
  console.error(
    `${size}: shadowdiff ${ours.seconds}s (CPU ${ours.cpu.toFixed(1)}s) ${ours.rssMiB.toFixed(0)} MiB, baseline ${baseline.seconds}s (CPU ${baseline.cpu.toFixed(1)}s), datacompy ${datacompy?.seconds ?? '-'}s`,
  );
}

const cell = (r) =>
  r ? `${r.seconds.toFixed(2)} s (CPU ${r.cpu.toFixed(1)} s) / ${r.rssMiB.toFixed(0)} MiB` : 'not run';
console.log(
  '| records per side | shadowdiff diff --json | DuckDB baseline | ratio wall | ratio CPU | datacompy (pandas) |',
);
console.log('|---:|---:|---:|---:|---:|---:|');
for (const { size, baseline, ours, datacompy } of rows) {
  console.log(
    `| ${size.toLocaleString('en')} | ${cell(ours)} | ${cell(baseline)} | ${(ours.seconds / baseline.seconds).toFixed(2)}× | ${(ours.cpu / baseline.cpu).toFixed(2)}× | ${cell(datacompy)} |`,
  );
}
