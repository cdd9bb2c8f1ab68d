import { spawnSync } from 'node:child_process';
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
    expect(report.stdout).toContain('v (value): 1e400 → 2e400');
    expect(report.stdout).toContain('live record invalid (too_deep)');
  });
});
