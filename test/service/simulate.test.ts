import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { Service } from '../../src/service/service.js';
import { simulatedRecord, simulatedText } from '../../src/sources/simulate.js';
import { waitFor } from '../helpers/wait.js';

describe('the embedded simulator', () => {
  const config = {
    ratePerSecond: 2000,
    keySpace: 100_000,
    seed: 1,
    differenceRate: 0.1,
    missingRate: 0.05,
    noisyFields: ['processed_at'],
  };

  it('derives the same record on every side, with the injected differences on the candidate', () => {
    let changed = 0;
    let lost = 0;
    for (let i = 0; i < 10_000; i++) {
      const live = simulatedRecord(i, 0, 'live', config)!;
      const candidate = simulatedRecord(i, 0, 'candidate', config);
      if (!candidate) {
        lost++;
        continue;
      }
      expect(candidate.order_id).toBe(live.order_id);
      expect(candidate.processed_at).not.toBe(live.processed_at);
      if (candidate.amount !== live.amount) changed++;
    }
    expect(changed / 10_000).toBeGreaterThan(0.08);
    expect(changed / 10_000).toBeLessThan(0.12);
    expect(lost / 10_000).toBeGreaterThan(0.04);
    expect(lost / 10_000).toBeLessThan(0.06);
  });

  it('writes each record out as the text JSON.stringify makes of it, whatever the noisy fields', () => {
    const random = vi.spyOn(Math, 'random');
    try {
      for (const noisyFields of [['processed_at'], [], ['run_id', 'host'], ['amount'], ['1'], ['x', 'x'], ['a"b']]) {
        for (const side of ['live', 'candidate', 'control'] as const) {
          for (let i = 0; i < 2_000; i++) {
            const settings = { ...config, noisyFields, keySpace: 700 };
            let n = i;
            random.mockImplementation(() => ((n++ * 0.618_033_988_7) % 1) / 2);
            const text = simulatedText(i, 1_700_000_000_000 + i * 7, side, settings);
            n = i;
            const record = simulatedRecord(i, 1_700_000_000_000 + i * 7, side, settings);
            expect(text).toBe(record && JSON.stringify(record));
          }
        }
      }
    } finally {
      random.mockRestore();
    }
  });

  it('drives the service with no infrastructure: windows close, noise is found, counts add up', async () => {
    const service = await Service.start(
      parseConfig({
        storage: { path: ':memory:' },
        comparisons: [
          {
            id: 'sim',
            live: { simulate: { ...config, differenceRate: 0, missingRate: 0 } },
            candidate: { simulate: config },
            control: { simulate: { ...config, differenceRate: 0, missingRate: 0 } },
            key: ['order_id'],
            time: { field: 'event_time' },
            window: { size: '1s', allowedLateness: '200ms' },
            verdict: { tolerance: 0.01, minSamples: 100 },
          },
        ],
      }),
      pino({ level: 'silent' }),
    );
    try {
      const runner = service.get('sim')!;
      await waitFor(() => runner.runtime().closedWindows >= 3, 20_000, 'three closed windows');
      const { counts, noise } = await runner.summary();
      expect(noise?.map((n) => n.path)).toEqual(['processed_at']);
      expect(counts.equal + counts.different + counts.missing).toBe(
        counts.live - counts.duplicateLive - counts.sampledOutLive - (counts.lateLive ?? 0) - (counts.pendingLive ?? 0),
      );
      expect(counts.missing).toBeGreaterThan(0);
      expect(runner.verdict().verdict).not.toBe('PASS');
    } finally {
      await service.stop();
    }
  });
});
