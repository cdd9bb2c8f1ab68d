import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { runDiffCommand } from '../../src/cli/diff.js';
import { tempDir } from '../helpers/tmp.js';

const files = tempDir();
afterAll(() => files.remove());

const CLI = new URL('../../dist/cli/main.js', import.meta.url).pathname;

function shadowdiff(...args: string[]) {
  const run = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

const quote = (text: string) => `'${text.replaceAll("'", "'\\''")}'`;

/**
 * Runs the CLI under a pseudo-terminal (util-linux `script`), stdout to a file: what `script`
 * prints is what the CLI wrote to its terminal stderr.
 */
function shadowdiffOnTty(...args: string[]) {
  const stdoutFile = `${files.dir}/tty-stdout-${Math.random().toString(36).slice(2)}`;
  const command = [process.execPath, CLI, ...args].map(quote).join(' ');
  const run = spawnSync('script', ['-qec', `${command} > ${quote(stdoutFile)}; exit $?`, '/dev/null'], {
    encoding: 'utf8',
    env: { ...process.env, TERM: 'xterm', COLUMNS: '120' },
  });
  return { code: run.status, terminal: run.stdout, stdout: readFileSync(stdoutFile, 'utf8') };
}

const rows = (n: number, change: (i: number) => boolean) =>
  Array.from({ length: n }, (_, i) => JSON.stringify({ id: i, v: change(i) ? -1 : i })).join('\n');

const live = files.write(
  'live.ndjson',
  rows(2000, () => false),
);
const same = files.write(
  'same.ndjson',
  rows(2000, () => false),
);
const worse = files.write(
  'worse.ndjson',
  rows(2000, (i) => i % 10 === 0),
);
const tiny = files.write(
  'tiny.ndjson',
  rows(5, () => false),
);
const config = files.write(
  'shadowdiff.yaml',
  `comparisons:
  - id: orders-v2
    live: {file: {path: unused}}
    candidate: {file: {path: unused}}
    key: [id]
    verdict: {tolerance: 0.01, minSamples: 100}
`,
);

describe('shadowdiff diff', () => {
  it('exits 0 on PASS and prints one JSON document with --json', () => {
    const run = shadowdiff('diff', '--live', live, '--candidate', same, '--config', config, '--json');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const body = JSON.parse(run.stdout);
    expect(body.comparison).toBe('orders-v2');
    expect(body.counts).toMatchObject({ live: 2000, candidate: 2000, equal: 2000, different: 0 });
    expect(body.verdict).toMatchObject({ apiVersion: 'shadowdiff/v1', verdict: 'PASS', pass: true, complete: true });
  });

  it('exits 1 on FAIL and prints a readable report', () => {
    const run = shadowdiff(
      'diff',
      '--live',
      live,
      '--candidate',
      worse,
      '--config',
      config,
      '--comparison',
      'orders-v2',
    );
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('orders-v2: FAIL');
    expect(run.stdout).toMatch(/different\s+200\s+10\.00%/);
    expect(run.stdout).toMatch(/^v\s+200\s+200/m);
  });

  it('exits 2 when there is too little evidence', () => {
    const run = shadowdiff('diff', '--live', tiny, '--candidate', tiny, '--key', 'id', '--json');
    expect(run.code).toBe(2);
    expect(JSON.parse(run.stdout).verdict.verdict).toBe('INCONCLUSIVE');
  });

  it('exits 3 with a clear message on bad input, bad config and bad arguments', () => {
    const missing = shadowdiff('diff', '--live', `${files.dir}/none.ndjson`, '--candidate', same, '--key', 'id');
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/cannot read .*none\.ndjson/);
    const badConfig = files.write(
      'bad.yaml',
      'comparisons:\n  - id: x\n    live: {file: {path: a}}\n    candidate: {file: {path: b}}\n    key: [id]\n    window: {size: soon}\n',
    );
    const bad = shadowdiff('diff', '--live', live, '--candidate', same, '--config', badConfig);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toContain('comparisons[0].window.size: expected a duration like 1m');
    expect(shadowdiff('diff', '--live', live).code).toBe(3);
    expect(shadowdiff('diff', '--live', live, '--candidate', same).stderr).toContain('--key is required');
    expect(shadowdiff('diff', '--live', live, '--key', 'id').stderr).toContain(
      '--live and --candidate are required without --config',
    );
    const sample = shadowdiff('diff', '--live', live, '--candidate', same, '--key', 'id', '--sample', '2');
    expect(sample.code).toBe(3);
    expect(sample.stderr).toContain('expected a rate above 0 and at most 1');
    const kafka = files.write(
      'kafka.yaml',
      'comparisons:\n  - id: k\n    live: {kafka: {topic: a}}\n    candidate: {file: {path: b}}\n    key: [id]\n',
    );
    expect(shadowdiff('diff', '--config', kafka).stderr).toContain(
      'the live source of comparison k is kafka; a batch diff reads files or PostgreSQL: give --live',
    );
    expect(
      shadowdiff('diff', '--live', live, '--candidate', same, '--config', config, '--comparison', 'nope').stderr,
    ).toContain('comparison nope is not in');
  });
});

describe('progress', () => {
  function fakeTty() {
    let text = '';
    const stream = new Writable({
      write(chunk, _encoding, done) {
        text += chunk.toString();
        done();
      },
    }) as unknown as NodeJS.WriteStream;
    Object.assign(stream, {
      isTTY: true,
      columns: 100,
      cursorTo: () => true,
      clearLine: () => true,
      moveCursor: () => true,
    });
    return { stream, text: () => text };
  }

  it('shows a progress bar on a TTY and nothing with --json', async () => {
    const tty = fakeTty();
    const out = fakeTty();
    await runDiffCommand({ live, candidate: same, key: 'id', samples: 1 }, { stdout: out.stream, stderr: tty.stream });
    expect(tty.text()).toMatch(/\d+% \| /);
    const quiet = fakeTty();
    const json = fakeTty();
    await runDiffCommand(
      { live, candidate: same, key: 'id', samples: 1, json: true },
      { stdout: json.stream, stderr: quiet.stream },
    );
    expect(quiet.text()).toBe('');
    expect(JSON.parse(json.text()).counts.equal).toBe(2000);
  });
});

describe('shadowdiff diff on hostile JSON', () => {
  it('prints numbers as written, compares NaN, counts 10,000-level nesting invalid, and never aborts', () => {
    const nested = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
    const left = files.write(
      'hostile-l.ndjson',
      `\ufeff{"id":1,"v":1e400}\n{"id":2,"v":9007199254740993}\n{"id":3,"v":NaN}\n{"id":4,"v":${nested}}\n`,
    );
    const right = files.write(
      'hostile-r.ndjson',
      '{"id":1,"v":2e400}\n{"id":2,"v":9007199254740992}\n{"id":3,"v":1}\n{"id":4,"v":1}\n',
    );
    const run = shadowdiff('diff', '--live', left, '--candidate', right, '--key', 'id', '--json');
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain('"live":1e400,"candidate":2e400');
    expect(run.stdout).toContain('"live":9007199254740993,"candidate":9007199254740992');
    const result = JSON.parse(run.stdout);
    expect(result.counts).toMatchObject({ live: 3, invalidLive: 1, different: 3, extra: 1, equal: 0 });
    const report = shadowdiff('diff', '--live', left, '--candidate', right, '--key', 'id');
    expect(report.stdout).toContain('key "1": 1e400 → 2e400');
    expect(report.stdout).toContain('key "2": 9007199254740993 → 9007199254740992');
    expect(report.stdout).toContain('live: 1 (1 too_deep)');
  });
});

describe('a side whose every record is invalid for one reason', () => {
  const n = 300;
  const lines = (make: (i: number) => object) =>
    Array.from({ length: n }, (_, i) => JSON.stringify(make(i))).join('\n');
  const good = files.write(
    'keyed.ndjson',
    lines((i) => ({ id: i, ts: 1_700_000_000_000 + i, v: i })),
  );
  const noKey = files.write(
    'no-key.ndjson',
    lines((i) => ({ order_idd: i, ts: 1_700_000_000_000 + i, v: i })),
  );
  const noTime = files.write(
    'no-time.ndjson',
    lines((i) => ({ id: i, time: 'later', v: i })),
  );
  const timed = files.write(
    'timed.yaml',
    `comparisons:
  - id: timed
    live: {file: {path: unused}}
    candidate: {file: {path: unused}}
    key: [id]
    time: {field: ts}
    verdict: {tolerance: 0.01, minSamples: 100}
`,
  );

  it('exits 3 naming the key, for the live and for the candidate side', () => {
    const live = shadowdiff('diff', '--live', noKey, '--candidate', good, '--key', 'id', '--json');
    expect(live.code).toBe(3);
    expect(live.stdout).toBe('');
    expect(live.stderr).toBe(`shadowdiff: every live record lacks the key "id" (${n} of ${n} invalid); check --key\n`);
    const candidate = shadowdiff('diff', '--live', good, '--candidate', noKey, '--key', 'id');
    expect(candidate.code).toBe(3);
    expect(candidate.stderr).toBe(
      `shadowdiff: every candidate record lacks the key "id" (${n} of ${n} invalid); check --key\n`,
    );
    const both = shadowdiff('diff', '--live', good, '--candidate', good, '--key', 'order_idd');
    expect(both.code).toBe(3);
    expect(both.stderr).toBe(
      `shadowdiff: every live record lacks the key "order_idd" (${n} of ${n} invalid); every candidate record lacks the key "order_idd" (${n} of ${n} invalid); check --key\n`,
    );
  });

  it('exits 3 naming the time field, for the live and for the candidate side', () => {
    const live = shadowdiff('diff', '--live', noTime, '--candidate', good, '--config', timed);
    expect(live.code).toBe(3);
    expect(live.stderr).toBe(
      `shadowdiff: every live record lacks a readable event time in "ts" (${n} of ${n} invalid); check time.field of comparison timed in ${timed}\n`,
    );
    const candidate = shadowdiff('diff', '--live', good, '--candidate', noTime, '--config', timed, '--json');
    expect(candidate.code).toBe(3);
    expect(candidate.stderr).toContain(
      `every candidate record lacks a readable event time in "ts" (${n} of ${n} invalid)`,
    );
  });

  it('keeps counting, not failing, when a side has valid records or invalid ones for several reasons', () => {
    const oneValid = files.write(
      'one-valid.ndjson',
      `${JSON.stringify({ id: 1, v: 1 })}\n${readFileSync(noKey, 'utf8')}`,
    );
    const some = shadowdiff('diff', '--live', oneValid, '--candidate', good, '--key', 'id', '--json');
    expect(some.code).toBe(1);
    expect(JSON.parse(some.stdout).counts).toMatchObject({ live: 1, invalidLive: n });
    const mixed = files.write('mixed.ndjson', `{"broken": \n${readFileSync(noKey, 'utf8')}`);
    const run = shadowdiff('diff', '--live', mixed, '--candidate', good, '--key', 'id', '--json');
    expect(run.code).toBe(1);
    const body = JSON.parse(run.stdout);
    expect(body.counts).toMatchObject({ live: 0, invalidLive: n + 1, missing: 0, extra: n });
    expect(body.invalidReasons.live).toEqual({ malformed: 1, missing_key: n });
  });
});

describe('report examples', () => {
  const n = 400;
  const liveRows: object[] = [];
  const candidateRows: object[] = [];
  for (let i = 0; i < n; i++) {
    const row = { id: i, amount: i, qty: i, name: 'plain', city: 'Zürich' };
    liveRows.push(row);
    // Every 4th record changes amount (most frequent), every 10th turns qty into a string;
    // records 1 and 3 differ only in invisible ways; 5 keys go missing, 2 are extra.
    if (i >= n - 5) continue;
    candidateRows.push({
      ...row,
      ...(i % 4 === 0 ? { amount: i + 1 } : {}),
      ...(i % 10 === 0 ? { qty: String(i) } : {}),
      ...(i === 1 ? { city: 'Zu\u0308rich' } : {}),
      ...(i === 3 ? { name: 'plain\u00a0' } : {}),
    });
  }
  candidateRows.push({ id: 'new-1' }, { id: 'new-2' });
  const ndjson = (rows: object[]) => `${rows.map((row) => JSON.stringify(row)).join('\n')}\n{"id": 7, "amount": \n`;
  const live = files.write('report-live.ndjson', ndjson(liveRows));
  const candidate = files.write('report-candidate.ndjson', ndjson(candidateRows));

  it('shows examples per field and per outcome, bounded, and makes invisible differences visible', () => {
    const run = shadowdiff('diff', '--live', live, '--candidate', candidate, '--key', 'id');
    expect(run.code).toBe(1);
    const report = run.stdout;
    expect(report).toContain('examples of the 4 most frequent differing fields:');
    expect(report).toMatch(/^ {2}amount: 99 differ \(value 99\)$/m);
    expect(report).toMatch(
      /^ {4}key "0": 0 → 1 {2}\[live .*report-live\.ndjson:1, candidate .*report-candidate\.ndjson:1\]$/m,
    );
    expect(report).toMatch(/^ {2}qty: 40 differ \(type 40\)$/m);
    expect(report).toContain('city: 1 differ (value 1)');
    expect(report).toContain(
      'key "1": "Z\\u00fcrich" → "Zu\\u0308rich"  (differ only in Unicode normalization (NFC vs NFD))',
    );
    expect(report).toContain(
      'key "3": "plain" → "plain\\u00a0"  (differ only in non-breaking or other special spaces, leading/trailing whitespace)',
    );
    expect(report).toMatch(
      /type changes:\n {2}qty: 40, e\.g\. key "0": 0 \(number\) → "0" \(string\) {2}\[live .*:1, candidate .*:1\]\n\n/,
    );
    const missing = report.split('missing: 5 keys on live only\n')[1]?.split('\n\n')[0]?.split('\n') ?? [];
    expect(missing).toHaveLength(3);
    expect(missing[0]).toMatch(/^ {2}key "395" {2}\[live .*report-live\.ndjson:396\]$/);
    expect(report).toMatch(/extra: 2 keys on candidate only\n {2}key "new-1" {2}\[candidate .*:396\]\n {2}key "new-2"/);
    expect(report).toMatch(
      /invalid records:\n {2}live: 1 \(1 malformed\)\n {4}malformed {2}\[live .*:401\]: "\{\\"id\\": 7, \\"amount\\": "/,
    );
    expect(report).toMatch(/^ {2}candidate: 1 \(1 malformed\)$/m);
  });
});

describe('progress on a terminal', () => {
  const n = 150_000;
  const big = (change: number) =>
    Array.from({ length: n }, (_, i) => JSON.stringify({ id: i, v: i % change === 0 ? -i : i, s: `text ${i}` })).join(
      '\n',
    );
  const live = files.write('big-live.ndjson', big(n + 1));
  const candidate = files.write('big-candidate.ndjson', big(7));

  it('moves through the phases with their labels on a TTY, and stays quiet with --json', () => {
    const run = shadowdiffOnTty('diff', '--live', live, '--candidate', candidate, '--key', 'id');
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('batch: FAIL');
    const percentages = new Set([...run.terminal.matchAll(/(\d+)% \| /g)].map((m) => Number(m[1])));
    expect(percentages.size).toBeGreaterThan(3);
    expect([...percentages].some((p) => p > 0 && p < 100)).toBe(true);
    // The bar redraws at most every 100 ms, so a fast stage may never be drawn: two labels suffice.
    const stages = new Set([...run.terminal.matchAll(/% \| (live vs candidate: [a-z ]+)/g)].map((m) => m[1]));
    expect(stages.size).toBeGreaterThan(1);
    const json = shadowdiffOnTty('diff', '--live', live, '--candidate', candidate, '--key', 'id', '--json');
    expect(json.code).toBe(1);
    expect(json.terminal).toBe('');
    expect(JSON.parse(json.stdout).counts.different).toBe(Math.ceil(n / 7) - 1);
  });
});

describe('a single-tenant canary', () => {
  const TENANTS = ['acme', 'globex', 'initech'];
  const record = (i: number, v = i) => JSON.stringify({ id: i, org: { tenant: TENANTS[i % 3], shard: i % 3 }, v });
  const all = Array.from({ length: 3000 }, (_, i) => i);
  const acme = all.filter((i) => i % 3 === 0);
  const live = files.write('tenants-live.ndjson', all.map((i) => record(i)).join('\n'));
  const clean = files.write('tenants-clean.ndjson', acme.map((i) => record(i)).join('\n'));
  const broken = files.write('tenants-broken.ndjson', acme.map((i) => record(i, i % 30 === 0 ? -1 : i)).join('\n'));
  const scopeConfig = files.write(
    'tenants.yaml',
    `comparisons:
  - id: acme-canary
    live: {file: {path: unused}}
    candidate: {file: {path: unused}}
    key: [id]
    scope: {field: org.tenant, in: [acme]}
    verdict: {tolerance: 0.01, minSamples: 100}
`,
  );

  it('PASSes a clean slice from --scope flags and FAILs a broken one, with exact out-of-scope counts', () => {
    // The config file's verdict policy, the scope from flags only.
    const flags = ['--config', config, '--scope-field', 'org.tenant', '--scope-in', 'acme', '--json'];
    const pass = shadowdiff('diff', '--live', live, '--candidate', clean, ...flags);
    expect(pass.code).toBe(0);
    const passed = JSON.parse(pass.stdout);
    expect(passed.counts).toMatchObject({ equal: 1000, missing: 0, outOfScopeLive: 2000, outOfScopeCandidate: 0 });
    expect(passed.verdict.scope).toBe('org.tenant in ["acme"]; records outside it are out of scope');
    const fail = shadowdiff('diff', '--live', live, '--candidate', broken, ...flags);
    expect(fail.code).toBe(1);
    expect(JSON.parse(fail.stdout).counts).toMatchObject({ equal: 900, different: 100, outOfScopeLive: 2000 });
  });

  it('takes the scope from the config file, and numbers, ranges and candidate-only from flags', () => {
    const fromConfig = shadowdiff('diff', '--live', live, '--candidate', clean, '--config', scopeConfig);
    expect(fromConfig.code).toBe(0);
    expect(fromConfig.stdout).toContain('scope: org.tenant in ["acme"]');
    expect(fromConfig.stdout).toMatch(/^out of scope +2000 +0$/m);
    const byNumber = shadowdiff(
      'diff',
      ...['--live', live, '--candidate', live, '--key', 'id', '--json'],
      ...['--scope-field', 'org.shard', '--scope-not-in', '1,2', '--scope-candidate-only'],
    );
    expect(JSON.parse(byNumber.stdout).counts).toMatchObject({
      equal: 1000,
      outOfScopeLive: 2000,
      unexpectedCandidate: 2000,
    });
    expect(byNumber.code).toBe(1);
    const quoted = shadowdiff(
      'diff',
      ...['--live', live, '--candidate', clean, '--key', 'id', '--json'],
      ...['--scope-field', 'org.shard', '--scope-in', '"0"'],
    );
    // The string "0" is not the number 0: nothing is in the slice.
    expect(quoted.code).toBe(3);
    expect(quoted.stderr).toContain('no record of either side is in the scope (org.shard in ["0"])');
    const range = shadowdiff(
      'diff',
      ...['--live', live, '--candidate', live, '--key', 'id', '--json', '--scope-key-range', '0,0.5'],
    );
    const counts = JSON.parse(range.stdout).counts;
    expect(counts.equal + counts.outOfScopeLive).toBe(3000);
    const misspelt = shadowdiff(
      'diff',
      '--live',
      live,
      '--candidate',
      clean,
      '--key',
      'id',
      '--scope-field',
      'org.tenant',
      '--scope-in',
      'acmee',
    );
    expect(misspelt.code).toBe(3);
    expect(misspelt.stderr).toBe(
      'shadowdiff: no record of either side is in the scope (org.tenant in ["acmee"]): 3000 live and 1000 candidate records are outside it; check the scope\n',
    );
    const bad = shadowdiff('diff', '--live', live, '--candidate', clean, '--key', 'id', '--scope-key-range', '0.5');
    expect(bad.code).toBe(3);
    expect(bad.stderr).toContain('--scope-key-range: expected from,to');
  });
});
