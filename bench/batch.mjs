// Batch diff benchmark (issue: core engine). For each size, on the same generated files:
//   shadowdiff   `shadowdiff diff --json` end to end (a fresh process)
//   baseline     hand-written DuckDB: read_json both files, FULL OUTER JOIN, per-column IS DISTINCT FROM
//   datacompy    datacompy (pandas backend), what a user would otherwise pick (skipped above --datacompy-max)
//   reladiff     reladiff's join diff of two DuckDB tables loaded from the same files (nested columns as
//                text, as datacompy takes them; the load is timed too), the other pick (--reladiff-max)
// Wall time, CPU time (user + system, all threads) and peak RSS of each process come from
// /usr/bin/time. CPU time is the steadier figure on a shared machine: wall time there depends on
// what else runs. Prints a Markdown table.
//
//   node bench/batch.mjs [--sizes 100000,1000000,5000000] [--dir /tmp/shadowdiff-bench] [--datacompy-max 1000000]
//     [--reladiff-max 1000000]
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generateDataset } from './dataset.mjs';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '100000,1000000' },
    dir: { type: 'string', default: '/tmp/shadowdiff-bench' },
    'datacompy-max': { type: 'string', default: '1000000' },
    'reladiff-max': { type: 'string', default: '1000000' },
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

/** A venv of the Python tools users would otherwise pick, made on first use (PyPI). */
function ensurePythonTools() {
  const venv = join(root, 'bench', '.venv');
  if (!existsSync(join(venv, 'bin', 'python'))) execFileSync('python3', ['-m', 'venv', venv], { stdio: 'inherit' });
  const python = join(venv, 'bin', 'python');
  try {
    execFileSync(python, ['-c', 'import datacompy, pandas, reladiff, duckdb'], { stdio: 'ignore' });
  } catch {
    execFileSync(join(venv, 'bin', 'pip'), ['install', '-q', 'datacompy', 'pandas', 'reladiff', 'duckdb'], {
      stdio: 'inherit',
    });
  }
  return python;
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

const RELADIFF = `
import sys, duckdb, reladiff
live_path, candidate_path, db = sys.argv[1], sys.argv[2], sys.argv[3]
con = duckdb.connect(db)
for name, path in (('live', live_path), ('candidate', candidate_path)):
    con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * REPLACE (customer::VARCHAR AS customer, items::VARCHAR AS items, tags::VARCHAR AS tags) FROM read_json('{path}')")
columns = tuple(c[0] for c in con.execute("DESCRIBE live").fetchall() if c[0] != 'order_id')
con.close()
uri = f"duckdb://{db}"
live = reladiff.connect_to_table(uri, "live", "order_id", extra_columns=columns)
candidate = reladiff.connect_to_table(uri, "candidate", "order_id", extra_columns=columns)
rows = list(reladiff.diff_tables(live, candidate, algorithm=reladiff.Algorithm.JOINDIFF))
print(sum(1 for sign, _ in rows if sign == '-'))
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
    const script = join(root, 'bench', '.datacompy.py');
    writeFileSync(script, DATACOMPY);
    datacompy = best('datacompy', () => timed(ensurePythonTools(), [script, live, candidate]));
  }
  let reladiff;
  if (size <= Number(values['reladiff-max'])) {
    const script = join(root, 'bench', '.reladiff.py');
    writeFileSync(script, RELADIFF);
    const db = join(dir, 'reladiff.duckdb');
    reladiff = best('reladiff', () => {
      rmSync(db, { force: true });
      return timed(ensurePythonTools(), [script, live, candidate, db]);
    });
    rmSync(db, { force: true });
    const differing = Number(reladiff.stdout.trim());
    if (differing !== size / 100) throw new Error(`reladiff found ${differing} differing rows, expected ${size / 100}`);
  }
  rows.push({ size, baseline, ours, datacompy, reladiff });
  console.error(
    `${size}: shadowdiff ${ours.seconds}s (CPU ${ours.cpu.toFixed(1)}s) ${ours.rssMiB.toFixed(0)} MiB, baseline ${baseline.seconds}s (CPU ${baseline.cpu.toFixed(1)}s), datacompy ${datacompy?.seconds ?? '-'}s, reladiff ${reladiff?.seconds ?? '-'}s`,
  );
}

const cell = (r) =>
  r ? `${r.seconds.toFixed(2)} s (CPU ${r.cpu.toFixed(1)} s) / ${r.rssMiB.toFixed(0)} MiB` : 'not run';
console.log(
  '| records per side | shadowdiff diff --json | DuckDB baseline | ratio wall | ratio CPU | datacompy (pandas) | reladiff (DuckDB, load included) |',
);
console.log('|---:|---:|---:|---:|---:|---:|---:|');
for (const { size, baseline, ours, datacompy, reladiff } of rows) {
  console.log(
    `| ${size.toLocaleString('en')} | ${cell(ours)} | ${cell(baseline)} | ${(ours.seconds / baseline.seconds).toFixed(2)}× | ${(ours.cpu / baseline.cpu).toFixed(2)}× | ${cell(datacompy)} | ${cell(reladiff)} |`,
  );
}
