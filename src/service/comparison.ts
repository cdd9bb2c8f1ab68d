import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import type { Logger } from 'pino';
import { type IngestPlan, ingestPlan } from '../align/ingest.js';
import type { DeadLetter, PackedPartition, PreparedBatch, PrepareOptions } from '../align/prepare.js';
import { WatermarkTracker } from '../align/watermarks.js';
import { durationMs } from '../config/duration.js';
import type { ComparisonConfig, Side } from '../config/schema.js';
import { diffSpecOf } from '../diff/batch.js';
import type { DiffSpec } from '../diff/engine.js';
import { redactor } from '../diff/redact.js';
import type { SampleOutcome } from '../diff/samples.js';
import { literal } from '../diff/sql.js';
import type { ShadowdiffMetrics } from '../metrics/metrics.js';
import type { PreparedSource } from '../sources/source.js';
import { connect, inTransaction, queryRows } from '../store/duckdb.js';
import { IngestWriter } from '../store/ingest-writer.js';
import { expireBuffered } from '../store/retention.js';
import { evaluateVerdict, type OutcomeCounts, type VerdictBody } from '../verdict/verdict.js';
import type {
  ComparisonRuntime,
  ComparisonState,
  ComparisonView,
  NoiseFilter,
  SideRuntime,
  Summary,
} from './contracts.js';
import { epochResults, type NoiseOptions, storedSamples, windowPage } from './results.js';
import { bufferedRecords, type ClosedWindows, closableWindows, diffWindows, persistWindows } from './window-close.js';

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
const WINDOWS_PER_PASS = 20;
const SAMPLES_PER_WINDOW = 5;
const DEAD_LETTERS_PER_BATCH = 20;
/** A side's pending batch stops gathering at this many records until its previous batch is durable. */
const MAX_PENDING_RECORDS = 50_000;

/** Deliveries of one side gathered while its previous batch is written, on their way to DuckDB as one batch. */
interface PendingBatch {
  source: PreparedSource;
  partitions: PackedPartition[];
  invalid: Map<string, number>;
  deadLetters: DeadLetter[];
  /** The last offset per partition: the durable position once written. */
  positions: Map<string, number>;
  records: number;
}

/** At most this many windows, the next to close, are diffed early (`#diffEarly`). */
const EARLY_WINDOWS = 3;

/** A window diffed before it closed, and what its sides had buffered then (`bufferedRecords`). */
interface EarlyDiff {
  closed: ClosedWindows;
  buffered: string;
}

/** Stands for +∞ in stored watermarks once every input has ended. */
const END_OF_TIME = Number.MAX_SAFE_INTEGER;

/**
 * One comparison at work (SPEC §1): consumes its sides, counts and buffers records durably, closes
 * windows as watermarks pass them, diffs them with the engine, and keeps its verdict current.
 * Each side writes its batches on a connection of its own, one at a time; windows are diffed on
 * another and stored on a third while the sides go on writing; resets run alone (`#exclusive`).
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
  /** Per side: records decoded but not yet being written, gathered while the previous batch is written. */
  readonly #pending = new Map<Side, PendingBatch>();
  /** Per side: the batch being made durable. */
  readonly #flushing = new Map<Side, Promise<void>>();
  #write: DuckDBConnection | undefined;
  /** Diffs closing windows while the sides' batches are written on theirs. */
  #closer: DuckDBConnection | undefined;
  #read: DuckDBConnection | undefined;
  #writer: IngestWriter | undefined;
  /** One connection per side for ingest: the sides' batches are made durable in parallel. */
  readonly #ingestConnections = new Map<Side, DuckDBConnection>();
  /** Writes in flight (ingest batches, stored windows); exclusive work (reset) waits for them. */
  readonly #writing = new Set<Promise<unknown>>();
  #state: ComparisonState = 'starting';
  #error: string | undefined;
  #epoch = 1;
  #epochStartedAt = new Date();
  #closedThrough: number | null = null;
  /** Windows diffed before they closed (`#diffEarly`), by window start. */
  readonly #early = new Map<number, EarlyDiff>();
  /** Buffered windows starting before this have expired. */
  #expiredBefore: number | null = null;
  #openWindows = 0;
  #closedWindows = 0;
  /**
   * Moves whenever buffered rows change (a batch durable, windows stored, buffers expired): a tick
   * counts open windows, or looks for windows to diff early, only when it moved since it last did.
   */
  #bufferGeneration = 0;
  #openCountedAt = -1;
  /** The last window the closable windows were looked for up to (`#closeWindows`). */
  #closableLookedUpTo: number | null = null;
  /** Window range and buffer generation of the last look for windows to diff early (`#diffEarly`). */
  #earlyLookedAt = '';
  #verdict: VerdictBody;
  #queue: Promise<unknown> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  /** The tick at work, if any: ticks never overlap, and stop() waits for this one. */
  #ticking: Promise<void> | undefined;
  /** An early close was asked for while a tick was at work: run another right after it. */
  #tickAgain = false;
  readonly #lastMarks = new Map<Side, number | null>();
  #lastCounts: OutcomeCounts = { equal: 0, different: 0, missing: 0, extra: 0 };
  #lastFields: Record<string, number> = {};
  readonly #advancedAt = new Map<Side, number>();
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
    const id = literal(this.id);
    await this.#write.run(
      `INSERT INTO comparisons VALUES (${id}, ${literal(JSON.stringify(this.config))}, 1, now(), now(), NULL) ON CONFLICT DO NOTHING`,
    );
    const [row] = await queryRows<{ epoch: number; started: bigint; created: bigint; closed_through: bigint | null }>(
      this.#write,
      `SELECT epoch, epoch_ms(epoch_started_at) AS started, epoch_ms(created_at) AS created, closed_through
       FROM comparisons WHERE id = ${id}`,
    );
    this.#epoch = Number(row?.epoch ?? 1);
    this.#epochStartedAt = new Date(Number(row?.started ?? Date.now()));
    this.#closedThrough = row?.closed_through == null ? null : Number(row.closed_through);
    const positions = await queryRows<{ side: Side; source: string; position: bigint; max_event_time: bigint | null }>(
      this.#write,
      `SELECT side, source, position, max_event_time FROM positions WHERE comparison = ${id}`,
    );
    for (const p of positions) {
      this.#durable.get(p.side)?.set(p.source, Number(p.position));
      if (p.max_event_time !== null) this.#watermarks.observe(p.side, p.source, Number(p.max_event_time));
    }
    this.#writer = await IngestWriter.open(this.#write, this.#plan);
    for (const side of this.#sides) this.#ingestConnections.set(side, await connect(instance));
    await this.#refresh(this.#write);
    // The simulator schedules record i at created_at + i/rate on every side, across restarts.
    const anchor = Number(row?.created ?? Date.now());
    const prepare = {
      recordKeys: this.#plan.recordKeys,
      recordTimestamps: this.#plan.recordTimestamps,
      deadLetterLimit: DEAD_LETTERS_PER_BATCH,
      maxRecordBytes: this.config.maxMessageBytes,
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
    const combined = this.#watermarks.combined();
    if (combined === null || this.catchingUp()) return;
    if (this.#closedThrough === null || this.#lastClosable(combined) > this.#lastClosable(this.#closedThrough)) {
      this.#startTick(true);
    }
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
    while (this.#flushing.size > 0) await Promise.all(this.#flushing.values());
    await Promise.all([this.#queue, ...this.#writing]).catch(() => {});
    this.#write?.closeSync();
    this.#closer?.closeSync();
    for (const connection of this.#ingestConnections.values()) connection.closeSync();
    this.#read?.closeSync();
    this.#state = 'stopped';
  }

  /**
   * Runs write work alone: after every write in flight, and before any that comes later. Resets
   * touch every side's rows. Ingest batches and stored windows touch rows of their own (buffer rows
   * are appended or deleted by closed window, counts are per side and writer, positions per side),
   * so they run together (`#shared`), each side one batch at a time as its source delivers them.
   */
  #exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = Promise.all([this.#queue, ...this.#writing]).then(work, work);
    this.#queue = run.catch(() => {});
    return run;
  }

  #shared<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(work, work);
    const tracked = run.catch(() => {});
    this.#writing.add(tracked);
    void tracked.then(() => this.#writing.delete(tracked));
    return run;
  }

  #fail(error: unknown): void {
    this.#state = 'failed';
    this.#error = (error as Error).message;
    this.#deps.logger.error({ err: error, comparison: this.id }, 'comparison failed');
  }

  /**
   * Takes one prepared delivery of one side (decoded, deduped and packed by its source) into the
   * side's pending batch: no work per record here. Each side has one batch being made durable
   * (`#flush`) while the next gathers, so fetching and decoding go on while DuckDB writes, and
   * DuckDB gets batches larger than one fetch. A side whose pending batch is full waits for its
   * write: memory stays bounded.
   */
  async #ingest(side: Side, source: PreparedSource, prepared: PreparedBatch): Promise<void> {
    if (this.#state === 'failed') throw new Error(`comparison ${this.id} failed: ${this.#error}`);
    if (prepared.records > 0) {
      let batch = this.#pending.get(side);
      if (!batch) {
        batch = { source, partitions: [], invalid: new Map(), deadLetters: [], positions: new Map(), records: 0 };
        this.#pending.set(side, batch);
      }
      batch.partitions.push(...prepared.partitions);
      for (const [reason, n] of prepared.invalid) batch.invalid.set(reason, (batch.invalid.get(reason) ?? 0) + n);
      const room = DEAD_LETTERS_PER_BATCH - batch.deadLetters.length;
      if (room > 0) batch.deadLetters.push(...prepared.deadLetters.slice(0, room));
      for (const [partition, position] of prepared.positions) batch.positions.set(partition, position);
      batch.records += prepared.records;
    }
    const writing = this.#flushing.get(side);
    if (!writing) {
      if (this.#pending.has(side)) this.#flush(side);
    } else if ((this.#pending.get(side)?.records ?? 0) >= MAX_PENDING_RECORDS) {
      await writing;
    }
  }

  /** Writes the side's pending batch, and the one that gathered meanwhile once it is done. */
  #flush(side: Side): void {
    const batch = this.#pending.get(side) as PendingBatch;
    this.#pending.delete(side);
    const run = this.#shared(() => this.#makeDurable(side, batch)).then(
      () => {
        this.#flushing.delete(side);
        this.#closeSoon();
        if (this.#pending.has(side) && this.#state !== 'failed') this.#flush(side);
      },
      (error) => {
        this.#flushing.delete(side);
        this.#fail(error);
      },
    );
    this.#flushing.set(side, run);
  }

  /** Makes one batch of one side durable (`IngestWriter`); then commits its offsets. */
  async #makeDurable(side: Side, batch: PendingBatch): Promise<void> {
    const durable = this.#durable.get(side) as Map<string, number>;
    const result = await (this.#writer as IngestWriter).write(this.#ingestConnections.get(side) as DuckDBConnection, {
      comparison: this.id,
      epoch: this.#epoch,
      side,
      closedThrough: this.#closedThrough,
      partitions: batch.partitions,
      invalid: batch.invalid,
      deadLetters: batch.deadLetters,
      positions: batch.positions,
      deadLetterLimit: DEAD_LETTERS_PER_BATCH,
    });
    this.#bufferGeneration++;
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
    return source.hasEnded() && !this.#pending.has(side) && !this.#flushing.has(side);
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
      this.#trackAdvance();
      await this.#closeWindows();
      await this.#expireBuffers();
      await this.#diffEarly();
      await this.#deps.beforeVerdict?.();
      // Drained as of the tick's start, not now: a side whose last batch became durable during the
      // tick wrote records that the tick's count of open windows (or its skipped count, while that
      // side had no watermark yet) never saw. Drained at the start, every watermark is +∞, so
      // #closeWindows closed and counted what is left, and nothing can be added since.
      this.#complete = drained && this.#openWindows === 0;
      this.#applyBackpressure();
      // The lag can change without a window closing: the verdict must follow it.
      this.#verdict = this.#judge(this.#lastCounts, this.#lastFields);
      this.#deps.metrics.setVerdict(this.id, this.#verdict);
      this.#publishRuntime();
    } catch (error) {
      this.#fail(error);
    }
  }

  /**
   * Closes the windows the watermarks have passed. Batches written from here on count records of
   * those windows late; once the batches already being written are durable, no record can join
   * them, so their diff runs on its own connection while ingest goes on, and so does storing the
   * results (its count rows are its own). A closer more than one pass behind diffs alone, so the
   * buffer cannot outgrow it.
   */
  async #closeWindows(): Promise<void> {
    const combined = this.#watermarks.combined();
    if (combined === null) return;
    const through = Number.isFinite(combined) ? combined : END_OF_TIME;
    const advanced = this.#closedThrough === null || through > this.#closedThrough;
    if (advanced) this.#closedThrough = through;
    await Promise.all(this.#writing);
    const closer = this.#closer as DuckDBConnection;
    // Whether a record is late depends on the last closable window only: while that stays, every
    // record of a closable window written since the last look was counted late, never buffered.
    const upTo = this.#lastClosable(through);
    const look = this.#closableLookedUpTo === null || upTo > this.#closableLookedUpTo;
    if (look) this.#closableLookedUpTo = upTo;
    const windows = look
      ? await closableWindows(closer, this.id, through, this.#plan.windowMs, this.#plan.latenessMs)
      : [];
    const early = await this.#earlyDiffsOf(closer, windows);
    for (const [window, closed] of early) {
      await this.#store(closed, through);
      this.#deps.logger.debug({ comparison: this.id, window }, 'window closed with its early diff');
    }
    const rest = windows.filter((w) => !early.has(w));
    const behind = rest.length > WINDOWS_PER_PASS;
    // A batch of windows at a time keeps one engine pass from holding ingest back for long.
    for (let from = 0; from < rest.length; from += WINDOWS_PER_PASS) {
      const batch = rest.slice(from, from + WINDOWS_PER_PASS);
      const diff = () => this.#diff(closer, batch);
      await this.#store(behind ? await this.#exclusive(diff) : await diff(), through);
    }
    const { windowMs, latenessMs } = this.#plan;
    for (const w of this.#early.keys()) if (w + windowMs + latenessMs <= through) this.#early.delete(w);
    if (look && windows.length === 0) {
      await this.#shared(() =>
        (this.#write as DuckDBConnection).run(
          `UPDATE comparisons SET closed_through = ${through} WHERE id = ${literal(this.id)}`,
        ),
      );
    }
    if (windows.length > 0) await this.#refresh(closer);
    else if (this.#openCountedAt !== this.#bufferGeneration) await this.#countOpenWindows(closer);
  }

  /** The start of the last window whose end plus the allowed lateness `through` has passed. */
  #lastClosable(through: number): number {
    const { windowMs, latenessMs } = this.#plan;
    return Math.floor((through - windowMs - latenessMs) / windowMs) * windowMs;
  }

  /**
   * Expires buffered windows that ended more than the retention before the latest event time any
   * side delivered: their other side stopped. Event time, not the clock, so a replay of old data
   * keeps its windows. Runs in the tick, after the closes, so it never deletes rows a close does.
   */
  async #expireBuffers(): Promise<void> {
    const latest = this.#watermarks.latest();
    if (latest === null) return;
    const { windowMs } = this.#plan;
    const before = Math.floor((latest - this.#deps.retentionMs) / windowMs) * windowMs;
    if (this.#expiredBefore !== null && before <= this.#expiredBefore) return;
    this.#expiredBefore = before;
    for (const w of this.#early.keys()) if (w < before) this.#early.delete(w);
    const expired = await this.#shared(() =>
      expireBuffered(this.#write as DuckDBConnection, this.id, this.#epoch, before),
    );
    for (const [side, n] of expired) this.#deps.metrics.addRecords(this.id, side, 'late', n);
    if (expired.size > 0) {
      this.#bufferGeneration++;
      await this.#countOpenWindows(this.#closer as DuckDBConnection);
    }
  }

  /** The early diffs of closing windows whose buffered records have not changed since, by window. */
  async #earlyDiffsOf(connection: DuckDBConnection, windows: number[]): Promise<Map<number, ClosedWindows>> {
    const diffed = windows.filter((w) => this.#early.has(w));
    const buffered = await bufferedRecords(connection, this.id, diffed);
    const current = new Map<number, ClosedWindows>();
    for (const w of diffed) {
      const early = this.#early.get(w) as EarlyDiff;
      if (buffered.get(w) === early.buffered) current.set(w, early.closed);
    }
    return current;
  }

  #diff(connection: DuckDBConnection, windows: number[]): Promise<ClosedWindows> {
    return diffWindows(connection, this.id, windows, this.#spec, this.#sides.includes('control'));
  }

  /**
   * Diffs the next windows to close, whose end every side has passed, while their lateness runs, so
   * that closing them takes a count of their buffered records: unchanged, the early diff is theirs;
   * a record that came meanwhile means a fresh diff at close. Not while a side catches up, where
   * windows close many at a time and one pass over them costs less.
   */
  async #diffEarly(): Promise<void> {
    const { windowMs, latenessMs } = this.#plan;
    const combined = this.#watermarks.combined();
    if (combined === null || !Number.isFinite(combined) || this.catchingUp()) return;
    const closer = this.#closer as DuckDBConnection;
    // From the next window to close on: the ones whose lateness ends first. None without lateness.
    const nextToClose = Math.floor((combined - windowMs - latenessMs) / windowMs) * windowMs + windowMs;
    const newestEnded = Math.floor(combined / windowMs) * windowMs - windowMs;
    // The same windows with the same buffers as at the last look: nothing new to diff.
    const lookAt = `${nextToClose}:${newestEnded}:${this.#bufferGeneration}`;
    if (lookAt === this.#earlyLookedAt) return;
    this.#earlyLookedAt = lookAt;
    for (let w = nextToClose; w <= Math.min(newestEnded, nextToClose + (EARLY_WINDOWS - 1) * windowMs); w += windowMs) {
      if (this.#early.has(w)) continue;
      // Counted before the diff: a record that lands in between changes the count, never the diff alone.
      const buffered = (await bufferedRecords(closer, this.id, [w])).get(w);
      if (buffered === undefined) continue;
      this.#early.set(w, { closed: await this.#diff(closer, [w]), buffered });
      this.#deps.logger.debug({ comparison: this.id, window: w, buffered }, 'window diffed early');
    }
  }

  /** Stores a diff of closed windows, then counts it in the metrics. */
  async #store(closed: ClosedWindows, through: number): Promise<void> {
    const { metrics } = this.#deps;
    await this.#shared(() => persistWindows(this.#write as DuckDBConnection, this.id, this.#epoch, closed, through));
    this.#bufferGeneration++;
    for (let i = 0; i < closed.windows.length; i++) {
      metrics.windowClosed(this.id, closed.diffSeconds / closed.windows.length);
    }
    const finals: [Side, { valid: number; duplicates: number; invalid: number }][] = [
      ['live', closed.candidate.live],
      ['candidate', closed.candidate.other],
      ...(closed.control ? ([['control', closed.control.other]] as [Side, typeof closed.candidate.live][]) : []),
    ];
    for (const [side, counts] of finals) {
      metrics.addRecords(this.id, side, 'accepted', counts.valid - counts.duplicates);
      metrics.addRecords(this.id, side, 'duplicate', counts.duplicates);
      metrics.addRecords(this.id, side, 'invalid', counts.invalid);
    }
  }

  async #countOpenWindows(connection: DuckDBConnection): Promise<void> {
    // Before the query: rows that change during it move the generation past this again.
    this.#openCountedAt = this.#bufferGeneration;
    const [row] = await queryRows<{ n: bigint }>(
      connection,
      `SELECT count(DISTINCT w) AS n FROM buffer WHERE comparison = ${literal(this.id)}`,
    );
    this.#openWindows = Number(row?.n ?? 0);
  }

  /** Recomputes the verdict and the gauges from what is durable. */
  async #refresh(connection: DuckDBConnection): Promise<void> {
    const results = await epochResults(connection, this.id, this.#epoch, this.#noiseOptions());
    await this.#countOpenWindows(connection);
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
    const lag = this.#lagSeconds('candidate');
    return evaluateVerdict({
      comparison: this.id,
      policy: this.config.verdict,
      counts,
      fieldDifferences: fields,
      ...(lag === undefined ? {} : { lagSeconds: lag }),
      complete: this.#complete,
    });
  }

  /**
   * How far a side's watermark trails live's, in seconds; undefined while live has none. While
   * backpressure holds another side paused, live's watermark stops too, so a side that does not
   * advance meanwhile lags by at least the time it has been standing still: a stopped candidate
   * keeps the verdict INCONCLUSIVE once that passes maxLagSeconds.
   */
  #lagSeconds(side: Side, now = Date.now()): number | undefined {
    const live = this.#watermarks.watermark('live', now);
    if (live === null || side === 'live') return side === 'live' ? 0 : undefined;
    const mark = this.#watermarks.watermark(side, now);
    if (mark === null) return Number.POSITIVE_INFINITY;
    if (mark === Number.POSITIVE_INFINITY) return 0;
    const reference = Number.isFinite(live) ? live : now;
    const eventLag = Math.max(0, (reference - mark) / 1000);
    const othersPaused = [...this.#sources].some(([other, source]) => other !== side && source.isPaused());
    const stalled = othersPaused ? (now - (this.#advancedAt.get(side) ?? now)) / 1000 : 0;
    return Math.max(eventLag, stalled);
  }

  /** Remembers when each side's watermark last moved, for the stall part of the lag. */
  #trackAdvance(now = Date.now()): void {
    for (const side of this.#sides) {
      const mark = this.#watermarks.watermark(side, now);
      if (mark !== this.#lastMarks.get(side)) {
        this.#lastMarks.set(side, mark);
        this.#advancedAt.set(side, now);
      }
    }
  }

  /** Pauses a side whose watermark runs more than two windows ahead of the slowest side, so buffers stay small. */
  #applyBackpressure(): void {
    const maxDrift = 2 * this.#plan.windowMs + this.#plan.latenessMs;
    const marks = this.#sides.map((side) => this.#watermarks.watermark(side));
    if (marks.some((m) => m === null)) return;
    const slowest = Math.min(...(marks as number[]));
    for (const [side, source] of this.#sources) {
      const mark = this.#watermarks.watermark(side) as number;
      if (!Number.isFinite(mark)) continue;
      const drift = mark - slowest;
      if (!source.isPaused() && drift > maxDrift) source.pause();
      else if (source.isPaused() && drift <= maxDrift / 2) source.resume();
    }
  }

  #publishRuntime(): void {
    const { metrics } = this.#deps;
    for (const [side, source] of this.#sources) {
      const mark = this.#watermarks.watermark(side);
      if (mark !== null) metrics.setWatermark(this.id, side, mark);
      metrics.setLag(this.id, side, this.#lagSeconds(side) ?? 0);
      const backlog = source.backlog();
      if (backlog !== null) metrics.setConsumerLag(this.id, side, backlog);
    }
    metrics.setOpenWindows(this.id, this.#openWindows);
  }

  runtime(): ComparisonRuntime {
    const sides: Partial<Record<Side, SideRuntime>> = {};
    let connecting = false;
    let waiting: string | undefined;
    for (const [side, source] of this.#sources) {
      const connected = source.isConnected();
      const endOfInput = source.hasEnded();
      const error = source.lastError();
      sides[side] = {
        watermark: this.#watermarks.watermark(side),
        lagSeconds: this.#lagSeconds(side) ?? 0,
        consumerLag: source.backlog(),
        connected,
        endOfInput,
        ...(error === null ? {} : { error }),
      };
      if (!connected && !endOfInput) connecting = true;
      if (error !== null) waiting ??= `${side} source: ${error}`;
    }
    const error = this.#error ?? waiting;
    return {
      state: this.#state === 'running' && connecting ? 'connecting' : this.#state,
      epoch: this.#epoch,
      epochStartedAt: this.#epochStartedAt.toISOString(),
      openWindows: this.#openWindows,
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
    const watermarks: Partial<Record<Side, string | null>> = {};
    for (const side of this.#sides) {
      const mark = this.#watermarks.watermark(side);
      watermarks[side] = mark === null ? null : Number.isFinite(mark) ? new Date(mark).toISOString() : 'end';
    }
    return {
      comparison: this.id,
      counts: results.counts,
      fields: results.fields,
      ...(results.noise ? { noise: results.noise } : {}),
      windows: { open: this.#openWindows, closed: results.closedWindows },
      watermarks,
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
    return this.#exclusive(async () => {
      const connection = this.#write as DuckDBConnection;
      const id = literal(this.id);
      const next = this.#epoch + 1;
      await inTransaction(connection, async () => {
        // Records still buffered belong to the new epoch: their windows close in it.
        await connection.run(
          `INSERT INTO record_counts SELECT comparison, ${next}, side, status, writer, sum(n) FROM record_counts
           WHERE comparison = ${id} AND epoch = ${this.#epoch} AND status = 'buffered' GROUP BY ALL HAVING sum(n) <> 0`,
        );
        await connection.run(
          `DELETE FROM record_counts WHERE comparison = ${id} AND epoch = ${this.#epoch} AND status = 'buffered'`,
        );
        await connection.run(`UPDATE comparisons SET epoch = ${next}, epoch_started_at = now() WHERE id = ${id}`);
      });
      this.#epoch = next;
      this.#epochStartedAt = new Date();
      await this.#refresh(connection);
    });
  }

  /** Deletes everything stored for this comparison; call after stop(). */
  static async deleteState(instance: DuckDBInstance, id: string, tables: readonly string[]): Promise<void> {
    const connection = await connect(instance);
    try {
      await connection.run('BEGIN TRANSACTION');
      for (const table of tables) {
        await connection.run(
          `DELETE FROM ${table} WHERE ${table === 'comparisons' ? 'id' : 'comparison'} = ${literal(id)}`,
        );
      }
      await connection.run('COMMIT');
    } finally {
      connection.closeSync();
    }
  }
}
