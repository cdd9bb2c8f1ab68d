import type { DuckDBConnection } from '@duckdb/node-api';
import type { Logger } from 'pino';
import type { IngestPlan } from '../align/ingest.js';
import type { WatermarkTracker } from '../align/watermarks.js';
import type { Side } from '../config/schema.js';
import type { DiffSpec } from '../diff/engine.js';
import type { ShadowdiffMetrics } from '../metrics/metrics.js';
import { expireBuffered } from '../store/retention.js';
import { openWindowCount, storeClosedThrough } from './comparison-store.js';
import { EarlyDiffs } from './early-diffs.js';
import { type ClosedWindows, closableWindows, diffWindows, persistWindows } from './window-close.js';
import type { WriteQueue } from './write-queue.js';

const WINDOWS_PER_PASS = 20;
/** Stands for +∞ in stored watermarks once every input has ended. */
const END_OF_TIME = Number.MAX_SAFE_INTEGER;

/** What the closer needs of its runner: identity, settings, and the runner's write scheduling. */
export interface CloserContext {
  comparison: string;
  plan: IngestPlan;
  spec: DiffSpec;
  hasControl: boolean;
  watermarks: WatermarkTracker;
  metrics: ShadowdiffMetrics;
  logger: Logger;
  /** Buffered windows that ended this long before the latest event time expire. */
  retentionMs: number;
  epoch(): number;
  catchingUp(): boolean;
  /** The runner's writes: stores run beside ingest; a closer far behind diffs alone. */
  writes: WriteQueue;
}

/**
 * When a comparison's windows close (SPEC §1), and what closing them takes: the diff
 * (`window-close.ts`), storing its results, expiring buffers a side never met, early diffs, and
 * the count of open windows. Diffs run on `closer`, stores on `write`, while the sides go on writing.
 */
export class WindowCloser {
  readonly #ctx: CloserContext;
  readonly #closer: DuckDBConnection;
  readonly #write: DuckDBConnection;
  readonly #early: EarlyDiffs;
  #closedThrough: number | null;
  /** The last window the closable windows were looked for up to. */
  #closableLookedUpTo: number | null = null;
  /** Buffered windows starting before this have expired. */
  #expiredBefore: number | null = null;
  #openWindows = 0;
  /**
   * Moves whenever buffered rows change (a batch durable, windows stored, buffers expired): open
   * windows are counted, or windows to diff early looked for, only when it moved since the last time.
   */
  #bufferGeneration = 0;
  #openCountedAt = -1;

  constructor(ctx: CloserContext, closer: DuckDBConnection, write: DuckDBConnection, closedThrough: number | null) {
    this.#ctx = ctx;
    this.#closer = closer;
    this.#write = write;
    this.#closedThrough = closedThrough;
    this.#early = new EarlyDiffs(ctx.comparison, ctx.plan.windowMs, ctx.plan.latenessMs, ctx.logger);
  }

  /** Records of windows ending (plus lateness) at or before this are late. */
  get closedThrough(): number | null {
    return this.#closedThrough;
  }

  get openWindows(): number {
    return this.#openWindows;
  }

  /** A batch was buffered: open windows may have changed. */
  buffersChanged(): void {
    this.#bufferGeneration++;
  }

  /** True when the watermarks have passed the end (plus lateness) of a window not yet closed. */
  closable(): boolean {
    const combined = this.#ctx.watermarks.combined();
    if (combined === null) return false;
    return this.#closedThrough === null || this.#lastClosable(combined) > this.#lastClosable(this.#closedThrough);
  }

  /**
   * Closes the windows the watermarks have passed; returns how many. Batches written from here on
   * count records of those windows late; once the batches already being written are durable, no
   * record can join them, so their diff runs on its own connection while ingest goes on, and so
   * does storing the results (its count rows are its own). A closer more than one pass behind
   * diffs alone, so the buffer cannot outgrow it.
   */
  async close(): Promise<number> {
    const ctx = this.#ctx;
    const combined = ctx.watermarks.combined();
    if (combined === null) return 0;
    const through = Number.isFinite(combined) ? combined : END_OF_TIME;
    if (this.#closedThrough === null || through > this.#closedThrough) this.#closedThrough = through;
    await ctx.writes.inFlight();
    // Whether a record is late depends on the last closable window only: while that stays, every
    // record of a closable window written since the last look was counted late, never buffered.
    const upTo = this.#lastClosable(through);
    const look = this.#closableLookedUpTo === null || upTo > this.#closableLookedUpTo;
    if (look) this.#closableLookedUpTo = upTo;
    const { windowMs, latenessMs } = ctx.plan;
    const windows = look ? await closableWindows(this.#closer, ctx.comparison, through, windowMs, latenessMs) : [];
    const early = await this.#early.current(this.#closer, windows);
    for (const [window, closed] of early) {
      await this.#store(closed, through);
      ctx.logger.debug({ comparison: ctx.comparison, window }, 'window closed with its early diff');
    }
    const rest = windows.filter((w) => !early.has(w));
    const behind = rest.length > WINDOWS_PER_PASS;
    // A batch of windows at a time keeps one engine pass from holding ingest back for long.
    for (let from = 0; from < rest.length; from += WINDOWS_PER_PASS) {
      const batch = rest.slice(from, from + WINDOWS_PER_PASS);
      const diff = () => this.#diff(batch);
      await this.#store(behind ? await ctx.writes.exclusive(diff) : await diff(), through);
    }
    this.#early.closedThrough(through);
    if (look && windows.length === 0) {
      await ctx.writes.shared(() => storeClosedThrough(this.#write, ctx.comparison, through));
    }
    await this.countOpenWindows();
    return windows.length;
  }

  /**
   * Expires buffered windows that ended more than the retention before the latest event time any
   * side delivered: their other side stopped. Event time, not the clock, so a replay of old data
   * keeps its windows. Runs in the tick, after the closes, so it never deletes rows a close does.
   */
  async expireBuffers(): Promise<void> {
    const ctx = this.#ctx;
    const latest = ctx.watermarks.latest();
    if (latest === null) return;
    const { windowMs } = ctx.plan;
    const before = Math.floor((latest - ctx.retentionMs) / windowMs) * windowMs;
    if (this.#expiredBefore !== null && before <= this.#expiredBefore) return;
    this.#expiredBefore = before;
    this.#early.expiredBefore(before);
    const expired = await ctx.writes.shared(() => expireBuffered(this.#write, ctx.comparison, ctx.epoch(), before));
    for (const [side, n] of expired) ctx.metrics.addRecords(ctx.comparison, side, 'late', n);
    if (expired.size > 0) {
      this.buffersChanged();
      await this.countOpenWindows();
    }
  }

  /** Diffs the next windows to close while their lateness runs; not while a side catches up, where windows close many at a time. */
  async diffEarly(): Promise<void> {
    const combined = this.#ctx.watermarks.combined();
    if (combined === null || !Number.isFinite(combined) || this.#ctx.catchingUp()) return;
    await this.#early.run(this.#closer, combined, this.#bufferGeneration, (windows) => this.#diff(windows));
  }

  /** Counts the windows that hold buffered records, unless no buffer changed since the last count. */
  async countOpenWindows(connection = this.#closer): Promise<void> {
    if (this.#openCountedAt === this.#bufferGeneration) return;
    // Before the query: rows that change during it move the generation past this again.
    this.#openCountedAt = this.#bufferGeneration;
    this.#openWindows = await openWindowCount(connection, this.#ctx.comparison);
  }

  /** The start of the last window whose end plus the allowed lateness `through` has passed. */
  #lastClosable(through: number): number {
    const { windowMs, latenessMs } = this.#ctx.plan;
    return Math.floor((through - windowMs - latenessMs) / windowMs) * windowMs;
  }

  #diff(windows: number[]): Promise<ClosedWindows> {
    return diffWindows(this.#closer, this.#ctx.comparison, windows, this.#ctx.spec, this.#ctx.hasControl);
  }

  /** Stores a diff of closed windows, then counts it in the metrics. */
  async #store(closed: ClosedWindows, through: number): Promise<void> {
    const { comparison, metrics } = this.#ctx;
    await this.#ctx.writes.shared(() => persistWindows(this.#write, comparison, this.#ctx.epoch(), closed, through));
    this.buffersChanged();
    for (let i = 0; i < closed.windows.length; i++) {
      metrics.windowClosed(comparison, closed.diffSeconds / closed.windows.length);
    }
    const finals: [Side, { valid: number; duplicates: number; invalid: number }][] = [
      ['live', closed.candidate.live],
      ['candidate', closed.candidate.other],
      ...(closed.control ? ([['control', closed.control.other]] as [Side, typeof closed.candidate.live][]) : []),
    ];
    for (const [side, counts] of finals) {
      metrics.addRecords(comparison, side, 'accepted', counts.valid - counts.duplicates);
      metrics.addRecords(comparison, side, 'duplicate', counts.duplicates);
      metrics.addRecords(comparison, side, 'invalid', counts.invalid);
    }
  }
}
