import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../src/api/server.js';
import { parseConfig } from '../../src/config/load.js';
import { Service } from '../../src/service/service.js';
import { confidenceSequence } from '../../src/verdict/confidence.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

const files = tempDir();
afterAll(() => files.remove());

// 6 windows of 30 s; trace_id differs on every record of every run (noise a control side shows);
// amount differs on the candidate on every 25th record of the second half only, so the band moves.
const COUNT = 3000;
const start = Date.UTC(2026, 0, 1);
const side = (name: string, changed: boolean) =>
  `${Array.from({ length: COUNT }, (_, i) =>
    JSON.stringify({
      id: i,
      t: new Date(start + i * 60).toISOString(),
      trace_id: `${name}-${i}`,
      amount: changed && i >= COUNT / 2 && i % 25 === 0 ? i + 1 : i,
    }),
  ).join('\n')}\n`;
const live = files.write('live.ndjson', side('live', false));
const candidate = files.write('candidate.ndjson', side('candidate', true));
const control = files.write('control.ndjson', side('control', false));
const storage = `${files.dir}/band.duckdb`;

const config = parseConfig({
  storage: { path: storage },
  comparisons: [
    {
      id: 'band',
      live: { file: { path: live } },
      candidate: { file: { path: candidate } },
      control: { file: { path: control } },
      key: ['id'],
      time: { field: 't' },
      window: { size: '30s', allowedLateness: '1s' },
      verdict: { tolerance: 0.01, alpha: 0.05, minSamples: 100 },
    },
  ],
});

interface Item {
  start: string;
  equal: number;
  different: number;
  missing: number;
  extra: number;
  mismatchRate: { sampled: number; mismatched: number; rate: number; lower: number; upper: number };
}

async function windowsAndVerdict(service: Service) {
  const app = buildServer({
    registry: service,
    adminToken: '',
    metrics: { contentType: 'text/plain', render: async () => '' },
    logger: false,
  });
  try {
    const windows = (await app.inject({ url: '/v1/comparisons/band/windows?limit=1000' })).json();
    const verdict = (await app.inject({ url: '/v1/comparisons/band/verdict' })).json();
    return { items: windows.items as Item[], verdict };
  } finally {
    await app.close();
  }
}

describe('windows: the mismatch-rate band over time', () => {
  it('gives each window the check over the epoch so far, ending at the verdict, the same after a restart', async () => {
    const first = await Service.start(config, pino({ level: 'silent' }));
    let before: Awaited<ReturnType<typeof windowsAndVerdict>>;
    try {
      await waitFor(() => first.get('band')!.verdict().complete, 60_000, 'the comparison to complete');
      before = await windowsAndVerdict(first);
    } finally {
      await first.stop();
    }
    const oldestFirst = [...before.items].reverse();
    expect(oldestFirst.length).toBe(6);
    let sampled = 0;
    let mismatched = 0;
    for (const item of oldestFirst) {
      sampled += item.equal + item.different + item.missing + item.extra;
      mismatched += item.different + item.missing + item.extra;
      const bounds = confidenceSequence(mismatched, sampled, 0.05, 0.01);
      expect(item.mismatchRate).toEqual({ sampled, mismatched, rate: mismatched / sampled, ...bounds });
    }
    // Noise discounted: only amount's changes (every 25th record of the second half) mismatch.
    expect(mismatched).toBe(COUNT / 2 / 25);
    expect(oldestFirst[2]!.mismatchRate.mismatched).toBe(0);
    const { stats } = before.verdict;
    expect(oldestFirst.at(-1)!.mismatchRate).toEqual({
      sampled: stats.sampled,
      mismatched: stats.mismatched,
      rate: stats.rate,
      lower: stats.lower,
      upper: stats.upper,
    });

    const second = await Service.start(config, pino({ level: 'silent' }));
    try {
      await waitFor(() => second.get('band')!.verdict().complete, 60_000, 'the restarted comparison to complete');
      expect((await windowsAndVerdict(second)).items).toEqual(before.items);
    } finally {
      await second.stop();
    }
  });

  it('has a point for every verdict the service gave while the windows closed one by one', async () => {
    // Replayed at a rate, the windows close while the test watches the verdict.
    const replayed = parseConfig({
      storage: { path: `${files.dir}/history.duckdb` },
      comparisons: [
        {
          id: 'band',
          live: { file: { path: live, ratePerSecond: 1000 } },
          candidate: { file: { path: candidate, ratePerSecond: 1000 } },
          key: ['id'],
          time: { field: 't' },
          window: { size: '30s', allowedLateness: '1s' },
          verdict: { tolerance: 0.01, alpha: 0.05, minSamples: 100 },
        },
      ],
    });
    const service = await Service.start(replayed, pino({ level: 'silent' }));
    const seen = new Map<number, { sampled: number; mismatched: number; lower: number; upper: number }>();
    try {
      const runner = service.get('band')!;
      await waitFor(
        () => {
          const { sampled, mismatched, lower, upper } = runner.verdict().stats;
          if (sampled > 0) seen.set(sampled, { sampled, mismatched, lower, upper });
          return runner.verdict().complete;
        },
        60_000,
        'the replay to complete',
      );
      const { items } = await windowsAndVerdict(service);
      const points = new Map(items.map((item) => [item.mismatchRate.sampled, item.mismatchRate]));
      expect(seen.size).toBeGreaterThan(1);
      for (const verdict of seen.values()) {
        const point = points.get(verdict.sampled);
        expect(point, `a band point with ${verdict.sampled} samples`).toBeDefined();
        expect({
          sampled: point!.sampled,
          mismatched: point!.mismatched,
          lower: point!.lower,
          upper: point!.upper,
        }).toEqual(verdict);
      }
    } finally {
      await service.stop();
    }
  });
});
