import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import type { Logger } from 'pino';
import { type IngestPlan, ingestPlan } from '../align/ingest.js';
import type { PreparedBatch, PrepareOptions } from '../align/prepare.js';
import { WatermarkTracker } from '../align/watermarks.js';
import { durationMs } from '../config/duration.js';
import type { ComparisonConfig, Side } from '../config/schema.js';
import { diffSpecOf } from '../diff/batch.js';
import type { DiffSpec } from '../diff/engine.js';
import type { SampleOutcome } from '../diff/samples.js';
import { partitionInScope, scopeInWords, scopePartitions } from '../diff/scope.js';
import type { ShadowdiffMetrics } from '../metrics/metrics.js';
import type { PreparedSource } from '../sources/source.js';
import { BufferWriter } from '../store/buffer-writer.js';
import { connect } from '../store/duckdb.js';
import { HELD_BYTES, OpenPairs } from '../store/open-pairs.js';
import type { VerdictBody } from '../verdict/verdict.js';
import { Checkpoint } from './checkpoint.js';
import { restoreComparison, type ScopeChange, startNextEpoch } from './comparison-store.js';
import type { ComparisonRuntime, ComparisonState, ComparisonView, NoiseFilter, Summary } from './contracts.js';
import { Intake } from './intake.js';
import { MAX_PENDING_RECORDS, PendingBatches } from './pending-batches.js';
import type { NoiseOptions } from './results.js';
import { SideProgress } from './side-progress.js';
import { sourceOptions } from './source-options.js';
import { StoredAnswers } from './stored-answers.js';
import { VerdictState } from './verdict-state.js';
import { WindowCloser } from './window-closer.js';
import { WriteQueue } from './write-queue.js';

export interface RunnerDependencies {
  instance: DuckDBInstance;
  metrics: ShadowdiffMetrics;
  logger: Logger;
  /** Buffered windows that ended this long before the latest event time expire (`storage.retention`). */
  retentionMs: number;
  /** Cluster mode (`cluster.enabled`): keys that come on different partitions across sides count `misrouted`. */
  cluster?: boolean;
  /** `prepare`: how the source decodes and packs what it delivers. */
  createSource(side: Side, comparison: ComparisonConfig, anchorMs: number, prepare: PrepareOptions): PreparedSource;
  /**
   * Awaited in every tick after its window work and before its verdict: where a side's last batch
   * can land unseen by the tick's count of open windows. Tests hold a tick there; the service sets none.
   */
  beforeVerdict?(): Promise<void>;
}

const TICK_MS = 250;
/** A checkpoint is stored at least this often while anything changes, besides every window close. */
const CHECKPOINT_MS = 2000;
const SAMPLES_PER_WINDOW = 5;

/**
 * One comparison at work (SPEC §1): consumes its sides, counts records and buffers those of open
 * windows in memory, has windows closed as watermarks pass them, and keeps its verdict current.
 * Each side's deliveries gather into batches (`PendingBatches`), each buffered on a connection of
 * the side's own; windows are diffed and stored by the `WindowCloser` while the sides go on
 * (`WriteQueue`); what must survive a restart is stored by the `Checkpoint` at window closes and
 * every few seconds; lag and backpressure come from `SideProgress`; a tick every 250 ms drives
 * the closes, checkpoints and the verdict.
 */
export class ComparisonRunner implements ComparisonView {
  readonly id: string;
  readonly config: ComparisonConfig;
  readonly #deps: RunnerDependencies;
  readonly #sides: Side[];
  readonly #plan: IngestPlan;
  readonly #spec: DiffSpec;
  /** How stored results discount noise (with a control side) and show the scope. */
  readonly #noise: NoiseOptions;
  readonly #watermarks: WatermarkTracker;
  readonly #sources = new Map<Side, PreparedSource>();
  readonly #checkpoint: Checkpoint;
  /** Buffers batches and stores checkpoints; there once started. */
  #intake: Intake | undefined;
  readonly #batches: PendingBatches;
  readonly #progress: SideProgress;
  #write: DuckDBConnection | undefined;
  /** Diffs closing windows while the sides' batches are written on theirs. */
  #closer: DuckDBConnection | undefined;
  #read: DuckDBConnection | undefined;
  #stored: StoredAnswers | undefined;
  /** One connection per side for ingest: the sides' batches are buffered in parallel. */
  readonly #ingestConnections = new Map<Side, DuckDBConnection>();
  readonly #writes = new WriteQueue();
  #state: ComparisonState = 'starting';
  #error: string | undefined;
  #epoch = 1;
  #epochStartedAt = new Date();
  /** Closes windows as the watermarks pass them; there once started. */
  #windows: WindowCloser | undefined;
  readonly #verdict: VerdictState;
  #timer: NodeJS.Timeout | undefined;
  /** The tick at work, if any: ticks never overlap, and stop() waits for this one. */
  #ticking: Promise<void> | undefined;
  /** An early close was asked for while a tick was at work: run another right after it. */
  #tickAgain = false;
  /** Resets asked for: the next tick starts a new epoch, between its window work. */
  #resets: { resolve: () => void; reject: (error: unknown) => void }[] = [];
  /** Every side was drained when a tick began, and that tick then found no open window (`#tick`). */
  #complete = false;

  constructor(config: ComparisonConfig, deps: RunnerDependencies) {
    this.id = config.id;
    this.config = config;
    this.#deps = deps;
    this.#sides = ['live', 'candidate', ...(config.control ? (['control'] as const) : [])];
    this.#plan = ingestPlan(config);
    const { control, scope, verdict } = config;
    this.#noise = {
      hasControl: control !== undefined,
      alpha: verdict.alpha,
      scoped: scope !== undefined,
      cluster: deps.cluster ?? false,
    };
    // Streaming ingest samples before buffering; the engine sees sampled records only.
    this.#spec = { ...diffSpecOf(config, SAMPLES_PER_WINDOW), samplingRate: 1 };
    this.#watermarks = new WatermarkTracker(this.#sides, durationMs(config.window.idleTimeout));
    this.#checkpoint = new Checkpoint(this.id, this.#sides);
    const { windowMs, latenessMs } = this.#plan;
    this.#progress = new SideProgress(this.#watermarks, this.#sources, this.#sides, 2 * windowMs + latenessMs);
    this.#batches = new PendingBatches({
      write: (side, batch) => this.#writes.shared(() => (this.#intake as Intake).buffer(side, batch)),
      written: () => this.#closeSoon(),
      failed: (error) => this.#fail(error),
      isFailed: () => this.#state === 'failed',
    });
    this.#verdict = new VerdictState(config, deps.metrics, this.#noise, {
      lagSeconds: () => this.#progress.lagSeconds('candidate'),
      complete: () => this.#complete,
      lostCounted: () => this.#intake?.lostCounted ?? 0,
    });
  }

  /** Restores the stored checkpoint, then starts consuming every side from it. */
  async start(): Promise<void> {
    const { instance, metrics } = this.#deps;
    this.#write = await connect(instance);
    this.#closer = await connect(instance);
    this.#read = await connect(instance);
    this.#stored = new StoredAnswers(this.#read, {
      ...{ config: this.config, spec: this.#spec, noise: this.#noise, windowMs: this.#plan.windowMs },
      checkpoint: this.#checkpoint,
      epoch: () => this.#epoch,
      openWindows: () => this.#windows?.openWindows ?? 0,
      watermarks: () => this.#progress.watermarkTimes(),
    });
    metrics.registerComparison(this.id, this.#sides);
    metrics.setSampleRate(this.id, this.config.sampling.rate);
    const restored = await restoreComparison(this.#write, this.config);
    this.#epoch = restored.epoch;
    this.#epochStartedAt = restored.epochStartedAt;
    const { logger, retentionMs } = this.#deps;
    if (restored.scopeChange) this.#scopeChanged(restored.scopeChange);
    const pairs = new OpenPairs({
      sides: this.#sides,
      samePartition: this.#deps.cluster ?? false,
      maxBytes: HELD_BYTES,
    });
    const windows = new WindowCloser(
      {
        pairs,
        ...{ comparison: this.id, plan: this.#plan, spec: this.#spec, hasControl: this.#sides.includes('control') },
        countMisrouted: this.#deps.cluster ?? false,
        ...{ watermarks: this.#watermarks, metrics, logger, retentionMs, checkpoint: this.#checkpoint },
        idleTimeoutMs: durationMs(this.config.window.idleTimeout),
        epoch: () => this.#epoch,
        catchingUp: () => this.catchingUp(),
        commit: (statements: string[]) => (this.#intake as Intake).store(statements),
        writes: this.#writes,
      },
      this.#closer,
      restored,
    );
    this.#windows = windows;
    for (const side of this.#sides) this.#ingestConnections.set(side, await connect(instance));
    this.#intake = new Intake({
      comparison: this.id,
      scope: this.config.scope,
      checkpoint: this.#checkpoint,
      writer: new BufferWriter(this.#plan, pairs),
      watermarks: this.#watermarks,
      metrics,
      logger,
      connections: this.#ingestConnections,
      store: this.#write,
      sources: this.#sources,
      epoch: () => this.#epoch,
      open: () => windows.open,
    });
    this.#intake.restore(restored.positions);
    await this.#refresh(this.#write);
    // The simulator schedules record i at created_at + i/rate on every side, across restarts.
    const anchor = restored.createdAtMs;
    for (const side of this.#sides) {
      const options = sourceOptions(this.config, this.#plan, side);
      this.#sources.set(side, this.#deps.createSource(side, this.config, anchor, options));
    }
    // Side by side: a source thread takes a while to start on a busy machine.
    await Promise.all(
      [...this.#sources].map(([side, source]) =>
        source.start((batch) => this.#ingest(side, source, batch), this.#checkpoint.startPositions(side)),
      ),
    );
    this.#registerPartitions();
    this.#state = 'running';
    this.#timer = setInterval(() => this.#startTick(), TICK_MS);
  }

  /** The stored state was kept under another scope: the old epoch's open windows ended, their records late. */
  #scopeChanged({ from, late }: ScopeChange): void {
    const { logger, metrics } = this.#deps;
    for (const [side, n] of late) metrics.addRecords(this.id, side, 'late', n);
    logger.warn(
      { comparison: this.id, epoch: this.#epoch, late: Object.fromEntries(late) },
      `scope changed: ${scopeInWords(from)} → ${scopeInWords(this.config.scope)}, epoch ${this.#epoch}`,
    );
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

  /** Stops consuming, buffers what was delivered, stores a last checkpoint, and closes connections. */
  async stop(): Promise<void> {
    if (this.#state === 'stopped') return;
    const failed = this.#state === 'failed';
    this.#state = 'stopping';
    clearInterval(this.#timer);
    await this.#ticking;
    await Promise.all([...this.#sources.values()].map((source) => source.stop().catch(() => {})));
    await this.#batches.settle();
    await this.#writes.settle();
    if (!failed && this.#intake && this.#checkpoint.dirty) {
      await this.#intake.store([]).catch((error) => this.#fail(error));
    }
    for (const pending of this.#resets.splice(0)) pending.reject(new Error(`comparison ${this.id} stopped`));
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
    if (prepared.gaps) this.#intake?.lostFromLog(side, prepared.gaps);
    return this.#batches.add(side, source, prepared);
  }

  /** A source that is still connecting knows its partitions only once it has: they hold the watermark from then. */
  #registerPartitions(): void {
    for (const [side, source] of this.#sources) {
      const scope = scopePartitions(this.config.scope, side);
      for (const partition of source.partitions()) {
        if (partitionInScope(scope, partition)) this.#watermarks.register(side, partition);
      }
    }
  }

  async #tick(): Promise<void> {
    try {
      await this.#resetIfAsked();
      this.#registerPartitions();
      let drained = true;
      for (const [side, source] of this.#sources) {
        // Its input has ended and all of it is buffered: its watermark may move to +∞.
        const ended = source.hasEnded() && this.#batches.isIdle(side);
        drained &&= ended;
        this.#watermarks.setEnded(side, ended);
        this.#watermarks.setPaused(side, source.isPaused());
      }
      this.#progress.track();
      const windows = this.#windows as WindowCloser;
      if ((await windows.close()) > 0) await this.#refresh(this.#closer as DuckDBConnection);
      await windows.expireBuffers();
      const intake = this.#intake as Intake;
      if (this.#checkpoint.dirty && Date.now() - intake.storedAt >= CHECKPOINT_MS) await intake.store([]);
      await windows.diffEarly();
      await this.#deps.beforeVerdict?.();
      // Drained as of the tick's start, not now: a side whose last batch became durable during the
      // tick wrote records that the tick's count of open windows (or its skipped count, while that
      // side had no watermark yet) never saw. Drained at the start, every watermark is +∞, so
      // the close closed and counted what is left, and nothing can be added since.
      this.#complete = drained && windows.openWindows === 0;
      this.#progress.applyBackpressure();
      // The lag can change without a window closing: the verdict must follow it.
      this.#verdict.judge();
      this.#progress.publish(this.#deps.metrics, this.id);
      this.#deps.metrics.setOpenWindows(this.id, windows.openWindows);
    } catch (error) {
      this.#fail(error);
    }
  }

  /** Recomputes the verdict and the gauges from what is stored. */
  #refresh(connection: DuckDBConnection): Promise<void> {
    return this.#verdict.refresh(connection, this.#epoch, this.#checkpoint);
  }

  runtime(): ComparisonRuntime {
    const { sides, connecting, error: waiting } = this.#progress.runtime();
    const error = this.#error ?? waiting;
    return {
      state: this.#state === 'running' && connecting ? 'connecting' : this.#state,
      epoch: this.#epoch,
      epochStartedAt: this.#epochStartedAt.toISOString(),
      openWindows: this.#windows?.openWindows ?? 0,
      closedWindows: this.#verdict.closedWindows,
      sampleRate: this.config.sampling.rate,
      sides,
      ...(error ? { error } : {}),
    };
  }

  verdict(): VerdictBody {
    return this.#verdict.verdict;
  }

  summary(): Promise<Summary> {
    return this.#answers().summary();
  }

  windows(page: { limit: number; offset: number }) {
    return this.#answers().windows(page);
  }

  samples(filter: { field?: string; outcome?: SampleOutcome; noise?: NoiseFilter; limit: number }) {
    return this.#answers().samples(filter);
  }

  sample(id: string) {
    return this.#answers().sample(id);
  }

  #answers(): StoredAnswers {
    return this.#stored as StoredAnswers;
  }

  /** Starts a new epoch: done by the next tick, between its window work, so no close straddles it. */
  reset(): Promise<void> {
    if (this.#state !== 'running') return Promise.reject(new Error(`comparison ${this.id} is ${this.#state}`));
    const done = new Promise<void>((resolve, reject) => this.#resets.push({ resolve, reject }));
    this.#startTick(true);
    return done;
  }

  async #resetIfAsked(): Promise<void> {
    const asked = this.#resets.splice(0);
    if (asked.length === 0) return;
    // No batch is being buffered meanwhile: every count so far is the old epoch's.
    const reset = this.#writes.exclusive(async () => {
      const connection = this.#write as DuckDBConnection;
      await (this.#intake as Intake).store([]);
      await startNextEpoch(connection, this.id, this.#epoch);
      this.#epoch += 1;
      this.#epochStartedAt = new Date();
      await this.#refresh(connection);
    });
    await reset.finally(() => {
      for (const pending of asked) reset.then(pending.resolve, pending.reject);
    });
  }
}
