import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import type { Logger } from 'pino';
import { type IngestPlan, ingestPlan } from '../align/ingest.js';
import { keySampling } from '../align/key-sample.js';
import type { PreparedBatch, PrepareOptions } from '../align/prepare.js';
import { WatermarkTracker } from '../align/watermarks.js';
import { durationMs } from '../config/duration.js';
import type { ComparisonConfig, Side } from '../config/schema.js';
import { diffSpecOf } from '../diff/batch.js';
import type { DiffSpec } from '../diff/engine.js';
import { redactor } from '../diff/redact.js';
import type { SampleOutcome } from '../diff/samples.js';
import type { ShadowdiffMetrics } from '../metrics/metrics.js';
import type { PreparedSource } from '../sources/source.js';
import { connect } from '../store/duckdb.js';
import { IngestWriter } from '../store/ingest-writer.js';
import { evaluateVerdict, type OutcomeCounts, type VerdictBody } from '../verdict/verdict.js';
import { restoreComparison, startNextEpoch } from './comparison-store.js';
import type { ComparisonRuntime, ComparisonState, ComparisonView, NoiseFilter, Summary } from './contracts.js';
import { DEAD_LETTERS_PER_BATCH, MAX_PENDING_RECORDS, type PendingBatch, PendingBatches } from './pending-batches.js';
import { epochResults, type NoiseOptions, storedSamples, windowPage } from './results.js';
import { SideProgress } from './side-progress.js';
import { WindowCloser } from './window-closer.js';
import { WriteQueue } from './write-queue.js';

export interface RunnerDependencies {
  instance: DuckDBInstance;
  metrics: ShadowdiffMetrics;
  logger: Logger;
  /** Buffered windows that ended this long before the latest event time expire (`storage.retention`). */
  retentionMs: number;
  /** `prepare`: how the source decodes and packs what it delivers. */
  createSource(side: Side, comparison: ComparisonConfig, anchorMs: number, prepare: PrepareOptions): PreparedSource;
  /**
   * Awaited in every tick after its window work and before its verdict: where a side's last batch
   * can land unseen by the tick's count of open windows. Tests hold a tick there; the service sets none.
   */
  beforeVerdict?(): Promise<void>;
}

const TICK_MS = 250;
const SAMPLES_PER_WINDOW = 5;

/**
 * One comparison at work (SPEC §1): consumes its sides, counts and buffers records durably, has
 * windows closed as watermarks pass them, and keeps its verdict current. Each side's deliveries
 * gather into batches (`PendingBatches`), each written on a connection of the side's own; windows
 * are diffed and stored by the `WindowCloser` while the sides go on writing (`WriteQueue`); lag and
 * backpressure come from `SideProgress`; a tick every 250 ms drives the closes and the verdict.
 */
export class ComparisonRunner implements ComparisonView {
  readonly id: string;
  readonly config: ComparisonConfig;
  readonly #deps: RunnerDependencies;
  readonly #sides: Side[];
  readonly #plan: IngestPlan;
  readonly #spec: DiffSpec;
  readonly #watermarks: WatermarkTracker;
  readonly #sources = new Map<Side, PreparedSource>();
  /** Per side and partition: the last durably counted offset; sources resume after it. */
  readonly #durable = new Map<Side, Map<string, number>>();
  readonly #batches: PendingBatches;
  readonly #progress: SideProgress;
  #write: DuckDBConnection | undefined;
  /** Diffs closing windows while the sides' batches are written on theirs. */
  #closer: DuckDBConnection | undefined;
  #read: DuckDBConnection | undefined;
  #writer: IngestWriter | undefined;
  /** One connection per side for ingest: the sides' batches are made durable in parallel. */
  readonly #ingestConnections = new Map<Side, DuckDBConnection>();
  readonly #writes = new WriteQueue();
  #state: ComparisonState = 'starting';
  #error: string | undefined;
  #epoch = 1;
  #epochStartedAt = new Date();
  /** Closes windows as the watermarks pass them; there once started. */
  #windows: WindowCloser | undefined;
  #closedWindows = 0;
  #verdict: VerdictBody;
  #timer: NodeJS.Timeout | undefined;
  /** The tick at work, if any: ticks never overlap, and stop() waits for this one. */
  #ticking: Promise<void> | undefined;
  /** An early close was asked for while a tick was at work: run another right after it. */
  #tickAgain = false;
  #lastCounts: OutcomeCounts = { equal: 0, different: 0, missing: 0, extra: 0 };
  #lastFields: Record<string, number> = {};
  /** Every side was drained when a tick began, and that tick then found no open window (`#tick`). */
  #complete = false;

  constructor(config: ComparisonConfig, deps: RunnerDependencies) {
    this.id = config.id;
    this.config = config;
    this.#deps = deps;
    this.#sides = ['live', 'candidate', ...(config.control ? (['control'] as const) : [])];
    this.#plan = ingestPlan(config);
    // Streaming ingest samples before buffering; the engine sees sampled records only.
    this.#spec = { ...diffSpecOf(config, SAMPLES_PER_WINDOW), samplingRate: 1 };
    this.#watermarks = new WatermarkTracker(this.#sides, durationMs(config.window.idleTimeout));
    for (const side of this.#sides) this.#durable.set(side, new Map());
    const { windowMs, latenessMs } = this.#plan;
    this.#progress = new SideProgress(this.#watermarks, this.#sources, this.#sides, 2 * windowMs + latenessMs);
    this.#batches = new PendingBatches({
      write: (side, batch) => this.#writes.shared(() => this.#makeDurable(side, batch)),
      written: () => this.#closeSoon(),
      failed: (error) => this.#fail(error),
      isFailed: () => this.#state === 'failed',
    });
    this.#verdict = this.#judge({ equal: 0, different: 0, missing: 0, extra: 0 }, {});
  }

  /** Restores durable state, then starts consuming every side. */
  async start(): Promise<void> {
    const { instance, metrics } = this.#deps;
    this.#write = await connect(instance);
    this.#closer = await connect(instance);
    this.#read = await connect(instance);
    metrics.registerComparison(this.id, this.#sides);
    metrics.setSampleRate(this.id, this.config.sampling.rate);
    const restored = await restoreComparison(this.#write, this.config);
    this.#epoch = restored.epoch;
    this.#epochStartedAt = restored.epochStartedAt;
    const closing = {
      comparison: this.id,
      plan: this.#plan,
      spec: this.#spec,
      hasControl: this.#sides.includes('control'),
      watermarks: this.#watermarks,
      metrics,
      logger: this.#deps.logger,
      retentionMs: this.#deps.retentionMs,
      epoch: () => this.#epoch,
      catchingUp: () => this.catchingUp(),
      writes: this.#writes,
    };
    this.#windows = new WindowCloser(closing, this.#closer, this.#write, restored.closedThrough);
    for (const p of restored.positions) {
      this.#durable.get(p.side)?.set(p.source, p.position);
      if (p.maxEventTime !== null) this.#watermarks.observe(p.side, p.source, p.maxEventTime);
    }
    this.#writer = await IngestWriter.open(this.#write, this.#plan);
    for (const side of this.#sides) this.#ingestConnections.set(side, await connect(instance));
    await this.#refresh(this.#write);
    // The simulator schedules record i at created_at + i/rate on every side, across restarts.
    const anchor = restored.createdAtMs;
    const prepare = {
      recordKeys: this.#plan.recordKeys,
      recordTimestamps: this.#plan.recordTimestamps,
      deadLetterLimit: DEAD_LETTERS_PER_BATCH,
      maxRecordBytes: this.config.maxMessageBytes,
      // Records of unsampled keys are dropped where the source runs (a source thread for Kafka).
      sampling: keySampling(this.config),
    };
    for (const side of this.#sides)
      this.#sources.set(side, this.#deps.createSource(side, this.config, anchor, prepare));
    // Side by side: a source thread takes a while to start on a busy machine.
    await Promise.all(
      [...this.#sources].map(([side, source]) =>
        source.start((batch) => this.#ingest(side, source, batch), this.#durable.get(side) ?? new Map()),
      ),
    );
    this.#registerPartitions();
    this.#state = 'running';
    this.#timer = setInterval(() => this.#startTick(), TICK_MS);
  }

  /** `soon`: a tick at work when asked is followed by another at once (the interval's ticks just skip). */
  #startTick(soon = false): void {
    if (this.#state !== 'running') return;
    if (this.#ticking) {
      if (soon) this.#tickAgain = true;
      return;
    }
    this.#ticking = this.#tick().finally(() => {
      this.#ticking = undefined;
      if (this.#tickAgain) {
        this.#tickAgain = false;
        this.#startTick();
      }
    });
  }

  /**
   * Starts a tick now, not at the next interval, when durable records let the watermarks pass the
   * end (plus lateness) of a window not yet closed: the verdict follows a window close sooner. Not
   * while a side catches up on a backlog: there, windows gathered over a tick diff in fewer passes.
   */
  #closeSoon(): void {
    if (!this.catchingUp() && this.#windows?.closable()) this.#startTick(true);
  }

  /** True while a side has more records waiting at its source than one pending batch holds. */
  catchingUp(): boolean {
    return [...this.#sources.values()].some((source) => (source.backlog() ?? 0) >= MAX_PENDING_RECORDS);
  }

  /** Stops consuming, lets the batch in flight finish (and commit), and closes connections. */
  async stop(): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#state = 'stopping';
    clearInterval(this.#timer);
    await this.#ticking;
    await Promise.all([...this.#sources.values()].map((source) => source.stop().catch(() => {})));
    // What was delivered before the sources stopped is made durable (and committed) first.
    await this.#batches.settle();
    await this.#writes.settle();
    this.#write?.closeSync();
    this.#closer?.closeSync();
    for (const connection of this.#ingestConnections.values()) connection.closeSync();
    this.#read?.closeSync();
    this.#state = 'stopped';
  }

  #fail(error: unknown): void {
    this.#state = 'failed';
    this.#error = (error as Error).message;
    this.#deps.logger.error({ err: error, comparison: this.id }, 'comparison failed');
  }

  /** Takes one prepared delivery of one side (decoded, deduped and packed by its source) into its pending batch. */
  #ingest(side: Side, source: PreparedSource, prepared: PreparedBatch): Promise<void> {
    if (this.#state === 'failed') throw new Error(`comparison ${this.id} failed: ${this.#error}`);
    return this.#batches.add(side, source, prepared);
  }

  /** Makes one batch of one side durable (`IngestWriter`); then commits its offsets. */
  async #makeDurable(side: Side, batch: PendingBatch): Promise<void> {
    const durable = this.#durable.get(side) as Map<string, number>;
    const result = await (this.#writer as IngestWriter).write(this.#ingestConnections.get(side) as DuckDBConnection, {
      comparison: this.id,
      epoch: this.#epoch,
      side,
      closedThrough: (this.#windows as WindowCloser).closedThrough,
      partitions: batch.partitions,
      invalid: batch.invalid,
      deadLetters: batch.deadLetters,
      positions: batch.positions,
      deadLetterLimit: DEAD_LETTERS_PER_BATCH,
    });
    this.#windows?.buffersChanged();
    for (const [partition, position] of batch.positions) {
      durable.set(partition, position);
      const maxEventTime = result.maxEventTimes.get(partition);
      if (maxEventTime !== undefined) this.#watermarks.observe(side, partition, maxEventTime);
      else this.#watermarks.touch(side, partition);
    }
    await batch.source.commit(batch.positions);
    this.#deps.logger.debug(
      {
        comparison: this.id,
        side,
        records: batch.records,
        counts: Object.fromEntries(result.counts),
        positions: Object.fromEntries(batch.positions),
      },
      'batch durable',
    );
    const { metrics } = this.#deps;
    for (const status of ['sampled_out', 'invalid', 'late'] as const) {
      metrics.addRecords(this.id, side, status, result.counts.get(status) ?? 0);
    }
    for (const [reason, n] of result.invalidReasons) metrics.addDecodeErrors(this.id, side, reason, n);
  }

  /** A side's input has ended and all of it is durable: its watermark may move to +∞. */
  #drained(side: Side, source: PreparedSource): boolean {
    return source.hasEnded() && this.#batches.isIdle(side);
  }

  /** A source that is still connecting knows its partitions only once it has: they hold the watermark from then. */
  #registerPartitions(): void {
    for (const [side, source] of this.#sources) {
      for (const partition of source.partitions()) this.#watermarks.register(side, partition);
    }
  }

  async #tick(): Promise<void> {
    try {
      this.#registerPartitions();
      let drained = true;
      for (const [side, source] of this.#sources) {
        const ended = this.#drained(side, source);
        drained &&= ended;
        this.#watermarks.setEnded(side, ended);
        this.#watermarks.setPaused(side, source.isPaused());
      }
      this.#progress.track();
      const windows = this.#windows as WindowCloser;
      if ((await windows.close()) > 0) await this.#refresh(this.#closer as DuckDBConnection);
      await windows.expireBuffers();
      await windows.diffEarly();
      await this.#deps.beforeVerdict?.();
      // Drained as of the tick's start, not now: a side whose last batch became durable during the
      // tick wrote records that the tick's count of open windows (or its skipped count, while that
      // side had no watermark yet) never saw. Drained at the start, every watermark is +∞, so
      // the close closed and counted what is left, and nothing can be added since.
      this.#complete = drained && windows.openWindows === 0;
      this.#progress.applyBackpressure();
      // The lag can change without a window closing: the verdict must follow it.
      this.#verdict = this.#judge(this.#lastCounts, this.#lastFields);
      this.#deps.metrics.setVerdict(this.id, this.#verdict);
      this.#progress.publish(this.#deps.metrics, this.id);
      this.#deps.metrics.setOpenWindows(this.id, windows.openWindows);
    } catch (error) {
      this.#fail(error);
    }
  }

  /** Recomputes the verdict and the gauges from what is durable. */
  async #refresh(connection: DuckDBConnection): Promise<void> {
    const results = await epochResults(connection, this.id, this.#epoch, this.#noiseOptions());
    await this.#windows?.countOpenWindows(connection);
    this.#closedWindows = results.closedWindows;
    const noise = new Set(results.noise?.map((f) => f.path));
    this.#lastCounts = results.counts;
    this.#lastFields = Object.fromEntries(
      results.fields.filter((f) => !noise.has(f.path)).map((f) => [f.path, f.different]),
    );
    this.#verdict = this.#judge(this.#lastCounts, this.#lastFields);
    const { metrics } = this.#deps;
    metrics.setVerdict(this.id, this.#verdict);
    // The counters follow the stored totals, so they say what the summary says (noise included).
    metrics.setOutcomes(this.id, results.counts);
    metrics.setFieldDifferences(this.id, results.fields);
    if (results.noise) metrics.setNoiseFields(this.id, [...noise]);
  }

  #judge(counts: OutcomeCounts, fields: Record<string, number>): VerdictBody {
    const lag = this.#progress.lagSeconds('candidate');
    return evaluateVerdict({
      comparison: this.id,
      policy: this.config.verdict,
      counts,
      fieldDifferences: fields,
      ...(lag === undefined ? {} : { lagSeconds: lag }),
      complete: this.#complete,
    });
  }

  #openWindows(): number {
    return this.#windows?.openWindows ?? 0;
  }

  runtime(): ComparisonRuntime {
    const { sides, connecting, error: waiting } = this.#progress.runtime();
    const error = this.#error ?? waiting;
    return {
      state: this.#state === 'running' && connecting ? 'connecting' : this.#state,
      epoch: this.#epoch,
      epochStartedAt: this.#epochStartedAt.toISOString(),
      openWindows: this.#openWindows(),
      closedWindows: this.#closedWindows,
      sampleRate: this.config.sampling.rate,
      sides,
      ...(error ? { error } : {}),
    };
  }

  verdict(): VerdictBody {
    return this.#verdict;
  }

  async summary(): Promise<Summary> {
    const results = await epochResults(this.#read as DuckDBConnection, this.id, this.#epoch, this.#noiseOptions());
    return {
      comparison: this.id,
      counts: results.counts,
      fields: results.fields,
      ...(results.noise ? { noise: results.noise } : {}),
      windows: { open: this.#openWindows(), closed: results.closedWindows },
      watermarks: this.#progress.watermarkTimes(),
    };
  }

  windows(page: { limit: number; offset: number }) {
    const read = this.#read as DuckDBConnection;
    return windowPage(read, this.id, this.#epoch, this.#plan.windowMs, this.#noiseOptions(), page);
  }

  samples(filter: { field?: string; outcome?: SampleOutcome; noise?: NoiseFilter; limit: number }) {
    const redact = redactor(this.#spec.redact, this.#spec.key);
    return storedSamples(this.#read as DuckDBConnection, this.id, this.#epoch, this.#noiseOptions(), filter, redact);
  }

  #noiseOptions(): NoiseOptions {
    return { hasControl: this.#sides.includes('control'), alpha: this.config.verdict.alpha };
  }

  reset(): Promise<void> {
    return this.#writes.exclusive(async () => {
      const connection = this.#write as DuckDBConnection;
      await startNextEpoch(connection, this.id, this.#epoch);
      this.#epoch += 1;
      this.#epochStartedAt = new Date();
      await this.#refresh(connection);
    });
  }
}
