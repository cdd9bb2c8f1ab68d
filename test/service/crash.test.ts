import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, describe, expect, it } from 'vitest';
import { INGEST_BOUND_MS, kill9, restart, type Seen, seen, VERDICT_BOUND_MS } from '../helpers/recovery.js';
import { freePort, getJson, startServe } from '../helpers/serve.js';
import { finalCounts, streamTruth } from '../helpers/stream-data.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

const files = tempDir();
afterAll(() => files.remove());

/** Issue 12 items 7 and 9 through file sources and `dist/` (run `npm run build` first). */
describe('shadowdiff serve over files, killed with SIGKILL', () => {
  const truth = streamTruth(9000, 50);
  const live = files.write('live.ndjson', `${truth.live.join('\n')}\n`);
  const candidate = files.write('candidate.ndjson', `${truth.candidate.join('\n')}\n`);
  // Paced (9 s a side uninterrupted), so that every kill lands mid-stream: counts move in batches of
  // up to 2,000 records, and the fifth kill waits for 4,500 live records counted.
  const config = files.write(
    'shadowdiff.yaml',
    `server: {host: 127.0.0.1, port: "\${PORT}"}
storage: {path: ${files.dir}/state.duckdb}
comparisons:
  - id: orders-v2
    live: {file: {path: ${live}, ratePerSecond: 1000}}
    candidate: {file: {path: ${candidate}, ratePerSecond: 1000}}
    key: [id]
    time: {field: t}
    window: {size: 1m, allowedLateness: 5s}
    verdict: {tolerance: 0.001, minSamples: 100}
`,
  );

  it('is killed mid-stream 5 times, serves its verdict and resumes soon after each restart, and ends with the counts of an uninterrupted run', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}/v1/comparisons/orders-v2`;
    const start = () => startServe(config, port);
    const liveCounted = async () => (await getJson<{ counts: { live: number } }>(`${base}/summary`)).body.counts.live;
    let child: ChildProcess = await start();
    const measured: { verdictMs: number; ingestMs: number }[] = [];
    try {
      for (let kill = 1; kill <= 5; kill++) {
        await waitFor(async () => (await liveCounted()) >= kill * 900, 60_000, `${kill * 900} live records counted`);
        const before: Seen = await seen(base);
        await kill9(child);
        const restarted = await restart(start, base, before);
        child = restarted.child;
        measured.push({ verdictMs: restarted.verdictMs, ingestMs: restarted.ingestMs });
      }
      console.log(
        `kill -9 over files, per restart: verdict served after ${measured.map((m) => m.verdictMs).join(', ')} ms; ` +
          `ingest resumed after ${measured.map((m) => m.ingestMs).join(', ')} ms (from process start)`,
      );
      for (const m of measured) {
        expect(m.verdictMs).toBeLessThan(VERDICT_BOUND_MS);
        expect(m.ingestMs).toBeLessThan(INGEST_BOUND_MS);
      }
      await waitFor(
        async () => (await getJson<{ complete: boolean }>(`${base}/verdict`)).body.complete,
        60_000,
        'complete',
      );
      const { body } = await getJson<{ counts: Record<string, number> }>(`${base}/summary`);
      expect(body.counts).toMatchObject({ ...finalCounts(truth), lostLive: 0, lostCandidate: 0 });
      child.kill('SIGTERM');
      const [code] = await once(child, 'exit');
      expect(code).toBe(0);
    } finally {
      await kill9(child);
    }
  });
});
