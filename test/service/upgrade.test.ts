import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import { kill9 } from '../helpers/recovery.js';
import { freePort, getJson, startServe } from '../helpers/serve.js';
import { finalCounts, streamTruth } from '../helpers/stream-data.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

const FIXTURE = new URL('../fixtures/storage-v1/', import.meta.url).pathname;
/** The config the fixture was written with: relative paths, so it resolves from the service's cwd. */
const CONFIG = `server: {host: 127.0.0.1, port: "\${PORT}"}
storage: {path: state.duckdb}
comparisons:
  - id: orders-v2
    live: {file: {path: live.ndjson, ratePerSecond: 1500}}
    candidate: {file: {path: candidate.ndjson, ratePerSecond: 1500}}
    key: [id]
    time: {field: t}
    window: {size: 1m, allowedLateness: 5s}
    verdict: {tolerance: 0.001, minSamples: 100}
`;

const dirs = [tempDir(), tempDir()];
afterAll(() => {
  for (const dir of dirs) dir.remove();
});

/** The fixture's storage file and WAL, unpacked into `dir`. */
function unpack(dir: string): void {
  for (const name of ['state.duckdb', 'state.duckdb.wal']) {
    writeFileSync(join(dir, name), gunzipSync(readFileSync(join(FIXTURE, `${name}.gz`))));
  }
}

interface StoredWindow {
  start: string;
  closedAt: string;
  equal: number;
  different: number;
  missing: number;
  extra: number;
}

/** What the previous release had stored: its closed windows and its record counts per side and status. */
async function storedByPreviousRelease(path: string) {
  const instance = await DuckDBInstance.create(path);
  try {
    const connection = await instance.connect();
    const read = async <T>(sql: string) => (await connection.runAndReadAll(sql)).getRowObjectsJS() as unknown as T[];
    const windows = await read<{ w: number; closed_ms: number } & Omit<StoredWindow, 'start' | 'closedAt'>>(
      `SELECT w::DOUBLE AS w, epoch_ms(closed_at)::DOUBLE AS closed_ms, equal::DOUBLE AS equal,
         different::DOUBLE AS different, missing::DOUBLE AS missing, extra::DOUBLE AS extra FROM windows ORDER BY w`,
    );
    const counts = await read<{ side: string; status: string; n: number }>(
      'SELECT side, status, sum(n)::DOUBLE AS n FROM record_counts GROUP BY ALL',
    );
    connection.closeSync();
    const status = (side: string, name: string) =>
      counts.find((row) => row.side === side && row.status === name)?.n ?? 0;
    const valid = (side: string) =>
      ['accepted', 'duplicate', 'buffered'].reduce((sum, name) => sum + status(side, name), 0);
    return {
      windows: windows.map(({ w, closed_ms, ...outcomes }) => ({
        start: new Date(w).toISOString(),
        closedAt: new Date(closed_ms).toISOString(),
        ...outcomes,
      })),
      counts: {
        live: valid('live'),
        candidate: valid('candidate'),
        invalidLive: status('live', 'invalid'),
        duplicateCandidate: status('candidate', 'duplicate'),
      },
    };
  } finally {
    instance.closeSync();
  }
}

/** Issue 12 item 8: upgrading shadowdiff itself, through `dist/` (run `npm run build` first). */
describe('shadowdiff serve on a storage file of the previous release', () => {
  it('keeps its closed windows and counts, rebuilds its open windows from the log, and ends with exact counts', async () => {
    const truth = streamTruth(6000, 50);
    const [run, inspect] = dirs as [ReturnType<typeof tempDir>, ReturnType<typeof tempDir>];
    unpack(inspect.dir);
    const before = await storedByPreviousRelease(join(inspect.dir, 'state.duckdb'));
    // The fixture is what its README says: closed windows, and records counted and buffered past them.
    expect(before.windows).toHaveLength(2);
    expect(before.counts.live).toBeGreaterThan(3000);

    unpack(run.dir);
    run.write('live.ndjson', `${truth.live.join('\n')}\n`);
    run.write('candidate.ndjson', `${truth.candidate.join('\n')}\n`);
    const config = run.write('shadowdiff.yaml', CONFIG);
    const port = await freePort();
    const base = `http://127.0.0.1:${port}/v1/comparisons/orders-v2`;
    const windowsNow = async () =>
      (await getJson<{ items: StoredWindow[] }>(`${base}/windows?limit=100`)).body.items
        .map(({ start, closedAt, equal, different, missing, extra }) => ({
          start,
          closedAt,
          equal,
          different,
          missing,
          extra,
        }))
        .sort((a, b) => a.start.localeCompare(b.start));
    const child = await startServe(config, port, {}, { cwd: run.dir });
    try {
      // At once: what the previous release counted and closed, as it stored it (not diffed again).
      const first = (await getJson<{ counts: Record<string, number> }>(`${base}/summary`)).body.counts;
      for (const [name, n] of Object.entries(before.counts)) expect(first[name]).toBeGreaterThanOrEqual(n);
      expect((await windowsNow()).slice(0, 2)).toEqual(before.windows);

      await waitFor(
        async () => (await getJson<{ complete: boolean }>(`${base}/verdict`)).body.complete,
        60_000,
        'complete',
      );
      const { body } = await getJson<{ counts: Record<string, number> }>(`${base}/summary`);
      expect(body.counts).toMatchObject({ ...finalCounts(truth), lostLive: 0, lostCandidate: 0 });
      expect((await windowsNow()).slice(0, 2)).toEqual(before.windows);
    } finally {
      await kill9(child);
    }
  });
});
