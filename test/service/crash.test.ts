import { once } from 'node:events';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, getJson, startServe } from '../helpers/serve.js';
import { finalCounts, streamTruth } from '../helpers/stream-data.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

const files = tempDir();
afterAll(() => files.remove());

describe('shadowdiff serve after kill -9', () => {
  const truth = streamTruth(6000, 50);
  const live = files.write('live.ndjson', `${truth.live.join('\n')}\n`);
  const candidate = files.write('candidate.ndjson', `${truth.candidate.join('\n')}\n`);
  const config = files.write(
    'shadowdiff.yaml',
    `server: {host: 127.0.0.1, port: "\${PORT}"}
storage: {path: ${files.dir}/state.duckdb}
comparisons:
  - id: orders-v2
    live: {file: {path: ${live}, ratePerSecond: 3000}}
    candidate: {file: {path: ${candidate}, ratePerSecond: 3000}}
    key: [id]
    time: {field: t}
    window: {size: 1m, allowedLateness: 5s}
    verdict: {tolerance: 0.001, minSamples: 100}
`,
  );

  it('resumes and ends with exactly the counts of an uninterrupted run', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}/v1/comparisons/orders-v2`;
    const first = await startServe(config, port);
    await waitFor(
      async () => (await getJson<{ counts: { live: number } }>(`${base}/summary`)).body.counts.live > 1000,
      20_000,
    );
    first.kill('SIGKILL');
    await once(first, 'exit');
    const partial = (await import('node:fs')).statSync(`${files.dir}/state.duckdb`).size;
    expect(partial).toBeGreaterThan(0);

    const second = await startServe(config, port);
    try {
      await waitFor(
        async () => (await getJson<{ complete: boolean }>(`${base}/verdict`)).body.complete,
        30_000,
        'complete',
      );
      const { body } = await getJson<{ counts: Record<string, number> }>(`${base}/summary`);
      expect(body.counts).toMatchObject(finalCounts(truth));
    } finally {
      second.kill('SIGTERM');
      const [code] = await once(second, 'exit');
      expect(code).toBe(0);
    }
  });
});
