import { appendFileSync } from 'node:fs';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { parseComparison } from '../../src/config/load.js';
import { ShadowdiffMetrics, type VerdictGauges } from '../../src/metrics/metrics.js';
import { ComparisonRunner } from '../../src/service/comparison.js';
import { FileReplaySource } from '../../src/sources/file-replay.js';
import { PreparingSource } from '../../src/sources/preparing.js';
import type { DurablePositions, PreparedHandler, PreparedSource, StartPositions } from '../../src/sources/source.js';
import { connect, openDatabase } from '../../src/store/duckdb.js';
import { createSchema } from '../../src/store/schema.js';
import type { VerdictBody } from '../../src/verdict/verdict.js';
import { finalCounts, STREAM_START, streamTruth, truthComparison } from '../helpers/stream-data.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

const files = tempDir();
afterAll(() => files.remove());

/** The real metrics, keeping every verdict the runner publishes. */
class RecordingMetrics extends ShadowdiffMetrics {
  readonly verdicts: VerdictBody[] = [];

  override setVerdict(comparison: string, body: VerdictGauges): void {
    this.verdicts.push(body as VerdictBody);
    super.setVerdict(comparison, body);
  }
}

/** Delivers what a real source delivers, once `open()` is called. */
class GatedSource implements PreparedSource {
  readonly #source: PreparedSource;
  readonly #gate: Promise<void>;
  open = () => {};

  constructor(source: PreparedSource) {
    this.#source = source;
    this.#gate = new Promise((resolve) => {
      this.open = resolve;
    });
  }

  start(handler: PreparedHandler, start: StartPositions): Promise<void> {
    return this.#source.start(async (batch) => {
      await this.#gate;
      await handler(batch);
    }, start);
  }

  commit(positions: DurablePositions): Promise<void> {
    return this.#source.commit(positions);
  }
  pause(): void {
    this.#source.pause();
  }
  resume(): void {
    this.#source.resume();
  }
  isPaused(): boolean {
    return this.#source.isPaused();
  }
  stop(): Promise<void> {
    return this.#source.stop();
  }
  isConnected(): boolean {
    return this.#source.isConnected();
  }
  lastError(): string | null {
    return this.#source.lastError();
  }
  hasEnded(): boolean {
    return this.#source.hasEnded();
  }
  backlog(): number | null {
    return this.#source.backlog();
  }
  partitions(): string[] {
    return this.#source.partitions();
  }
}

describe('comparison runner', () => {
  it('is never complete while the last batch of a side lands during a tick (CI race, #14.3)', async () => {
    const truth = streamTruth();
    const live = files.write('live.ndjson', `${truth.live.join('\n')}\n`);
    const candidate = files.write('candidate.ndjson', `${truth.candidate.join('\n')}\n`);
    const config = parseComparison(truthComparison('race', live, candidate));
    const instance = await openDatabase({ path: `${files.dir}/race.duckdb`, threads: 1 });
    const setup = await connect(instance);
    await createSchema(setup);
    setup.closeSync();
    const metrics = new RecordingMetrics(new Registry());
    let candidateGate: GatedSource | undefined;
    let raced = false;
    const runner: ComparisonRunner = new ComparisonRunner(config, {
      instance,
      metrics,
      logger: pino({ level: 'silent' }),
      retentionMs: 7 * 24 * 3600_000,
      createSource: (side, _comparison, _anchor, prepare) => {
        const source = new PreparingSource(
          new FileReplaySource({ path: side === 'live' ? live : candidate, follow: false }),
          prepare,
        );
        if (side === 'live') return source;
        candidateGate = new GatedSource(source);
        return candidateGate;
      },
      // Once live is drained (its watermark +∞ at a tick's start), the next tick lets the candidate
      // deliver its only batch and waits, after its window work, until that batch is durable.
      beforeVerdict: async () => {
        if (raced || runner.runtime().sides.live?.watermark !== Number.POSITIVE_INFINITY) return;
        raced = true;
        candidateGate?.open();
        await waitFor(() => {
          const side = runner.runtime().sides.candidate;
          return side?.endOfInput === true && side.watermark !== null;
        }, 30_000);
      },
    });
    await runner.start();
    try {
      await waitFor(() => runner.verdict().complete, 30_000, 'complete');
      expect(raced).toBe(true);
      const summary = await runner.summary();
      expect(summary.counts).toMatchObject(finalCounts(truth));
      const { equal, different, missing, extra } = truth.expected;
      const complete = metrics.verdicts.filter((v) => v.complete);
      expect(complete.length).toBeGreaterThan(0);
      // Every verdict that said complete counted every record.
      expect(complete.filter((v) => v.stats.sampled !== equal + different + missing + extra)).toEqual([]);
    } finally {
      await runner.stop();
      instance.closeSync();
    }
  });

  it('runs no query in a tick with nothing new, and still closes the next window exactly (#17.1)', async () => {
    const truth = streamTruth();
    const live = files.write('idle-live.ndjson', `${truth.live.join('\n')}\n`);
    const candidate = files.write('idle-candidate.ndjson', `${truth.candidate.join('\n')}\n`);
    const config = parseComparison({
      id: 'idle',
      live: { file: { path: live, follow: true } },
      candidate: { file: { path: candidate, follow: true } },
      key: ['id'],
      time: { field: 't' },
      // Five windows of a minute; the idle timeout outlasts the test, so the last one stays open.
      window: { size: '1m', allowedLateness: '5s', idleTimeout: '1h' },
      verdict: { tolerance: 0.001, minSamples: 100 },
    });
    const instance = await openDatabase({ path: `${files.dir}/idle.duckdb`, threads: 1 });
    const inspect = await connect(instance);
    await createSchema(inspect);
    let ticks = 0;
    const runner = new ComparisonRunner(config, {
      instance,
      metrics: new ShadowdiffMetrics(new Registry()),
      logger: pino({ level: 'silent' }),
      retentionMs: 7 * 24 * 3600_000,
      createSource: (side, _comparison, _anchor, prepare) =>
        new PreparingSource(new FileReplaySource({ path: side === 'live' ? live : candidate, follow: true }), prepare),
      beforeVerdict: async () => {
        ticks++;
      },
    });
    const ticksFrom = async (n: number) => {
      const from = ticks;
      await waitFor(() => ticks >= from + n, 30_000, `${n} ticks`);
    };
    await runner.start();
    try {
      await waitFor(() => runner.runtime().closedWindows === 4, 30_000, 'four windows closed');
      // The tick that closed them may still be at work: the next two start after it.
      await ticksFrom(2);
      // DuckDB's own log of every statement any connection runs.
      await inspect.run("CALL enable_logging('QueryLog')");
      await ticksFrom(8);
      const logged = await inspect.runAndReadAll("SELECT message FROM duckdb_logs WHERE type = 'QueryLog'");
      const statements = logged.getRowObjects().map((row) => String(row.message));
      expect(statements.filter((sql) => !sql.includes('duckdb_logs'))).toEqual([]);
      expect(runner.runtime()).toMatchObject({ openWindows: 1, closedWindows: 4 });
      // A record far later on both sides lets the last window close: counts exact as ever.
      const late = JSON.stringify({
        id: 'late',
        t: new Date(STREAM_START + 400_000).toISOString(),
        amount: 0,
        tags: [],
      });
      appendFileSync(live, `${late}\n`);
      appendFileSync(candidate, `${late}\n`);
      await waitFor(() => runner.runtime().closedWindows === 5, 30_000, 'the last window closed');
      const { equal, different, missing, extra } = finalCounts(truth);
      expect((await runner.summary()).counts).toMatchObject({ equal, different, missing, extra, pendingLive: 1 });
      expect(runner.runtime().openWindows).toBe(1);
    } finally {
      await runner.stop();
      inspect.closeSync();
      instance.closeSync();
    }
  });
});
