import type { DuckDBConnection } from '@duckdb/node-api';
import type { Logger } from 'pino';
import type { IngestPlan, OpenFrom } from '../align/ingest.js';
import type { WatermarkTracker } from '../align/watermarks.js';
import type { Side } from '../config/schema.js';
import type { DiffSpec } from '../diff/engine.js';
import type { ShadowdiffMetrics } from '../metrics/metrics.js';
import type { OpenPairs } from '../store/open-pairs.js';
import type { Checkpoint } from './checkpoint.js';
import { EarlyDiffs } from './early-diffs.js';
import { SettleChoice } from './settle-choice.js';
import { type ClosedWindows, closedWindowRows, diffWindows, dropBuffers } from './window-close.js';
import type { WriteQueue } from './write-queue.js';

const WINDOWS_PER_PASS = 20;
/** Stands for +∞ in stored watermarks once every input has ended. */
const END_OF_TIME = Number.MAX_SAFE_INTEGER;

/** What the closer needs of its runner: identity, settings, its checkpoint and write scheduling. */
export interface CloserContext {
  comparison: string;
  plan: IngestPlan;
  spec: DiffSpec;
  hasControl: boolean;
  /** Cluster mode: keys must come on the same partition on every side, and those that do not count `misrouted`. */
  countMisrouted: boolean;
  watermarks: WatermarkTracker;
  /** Keyed records of open windows, held in memory (`BufferWriter`). */
  pairs: OpenPairs;
  metrics: ShadowdiffMetrics;
  logger: Logger;
  /** Buffered windows that ended this long before the latest event time expire. */
  retentionMs: number;
  /** A side silent this long is idle (`window.idleTimeout`). */
  idleTimeoutMs: number;
  checkpoint: Checkpoint;
  epoch(): number;
  catchingUp(): boolean;
  /** Stores the checkpoint with these statements in one transaction. */
  commit(statements: string[]): Promise<void>;
  /** The runner's buffer writes: a closer far behind diffs alone. */
  writes: WriteQueue;
}

/**
 * When a comparison's windows close (SPEC §1), and what closing them takes: the diff
 * (`window-close.ts`), storing its results in a checkpoint, expiring buffers a side never met,
 * and early diffs. Diffs run on `closer` while the sides go on buffering.
 */
export class WindowCloser {
  readonly #ctx: CloserContext;
  readonly #closer: DuckDBConnection;
  readonly #early: EarlyDiffs;
  readonly #open: OpenFrom;
  /** Moves whenever buffered rows change, so early diffs look again only then. */
  #bufferGeneration = 0;
  readonly #startedAt = Date.now();
  readonly #settle = { candidate: new SettleChoice(), control: new SettleChoice() };

  constructor(ctx: CloserContext, closer: DuckDBConnection, open: OpenFrom) {
    this.#ctx = ctx;
    this.#closer = closer;
    this.#open = { ...open };
    const { windowMs, latenessMs } = ctx.plan;
    // A window whose records are held closes without the engine for most keys: no early diff.
    const buffered = (w: number) => (ctx.pairs.holds(w) ? '' : ctx.checkpoint.bufferedIn(w));
    this.#early = new EarlyDiffs(ctx.comparison, windowMs, latenessMs, ctx.logger, buffered);
  }

  /** Which windows take no more records: a batch classified from now on counts their records late. */
  get open(): OpenFrom {
    return { ...this.#open };
  }

  get openWindows(): number {
    return this.#ctx.checkpoint.openWindows().length;
  }

  /** A batch was buffered: open windows may have changed. */
  buffersChanged(): void {
    this.#bufferGeneration++;
  }

  /** True when the watermarks have passed the end (plus lateness) of a window not yet closed. */
  closable(): boolean {
    const combined = this.#ctx.watermarks.combined();
    if (combined === null) return false;
    const { closedThrough } = this.#open;
    return closedThrough === null || this.#lastClosable(combined) > this.#lastClosable(closedThrough);
  }

  /**
   * Closes the windows the watermarks have passed; returns how many. Batches classified from here
   * on count records of those windows late; once the batches already being buffered are in, no
   * record can join them, so their diff runs on its own connection while ingest goes on. A closer
   * more than one pass behind diffs alone, so the buffer cannot outgrow it.
   */
  async close(): Promise<number> {
    const ctx = this.#ctx;
    const combined = ctx.watermarks.combined();
    if (combined === null) return 0;
    const through = Number.isFinite(combined) ? combined : END_OF_TIME;
    if (this.#open.closedThrough !== null && through <= this.#open.closedThrough) return 0;
    this.#open.closedThrough = through;
    await ctx.writes.inFlight();
    const { windowMs, latenessMs } = ctx.plan;
    const windows = ctx.checkpoint.openWindows().filter((w) => w + windowMs + latenessMs <= through);
    const early = this.#early.current(windows);
    for (const [window, closed] of early) {
      await this.#store(closed);
      ctx.logger.debug({ comparison: ctx.comparison, window }, 'window closed with its early diff');
    }
    const rest = windows.filter((w) => !early.has(w));
    const behind = rest.length > WINDOWS_PER_PASS;
    // A batch of windows at a time keeps one engine pass from holding ingest back for long.
    for (let from = 0; from < rest.length; from += WINDOWS_PER_PASS) {
      const batch = rest.slice(from, from + WINDOWS_PER_PASS);
      const diff = () => this.#diff(batch);
      await this.#store(behind ? await ctx.writes.exclusive(diff) : await diff());
    }
    this.#early.closedThrough(through);
    return windows.length;
  }

  /**
   * Expires buffered windows that ended more than the retention before the latest event time any
   * side delivered: their other side stopped (or never delivered within an idle timeout). Event
   * time, not the clock, so a replay of old data keeps its windows. Runs in the tick, after the closes, so it never drops rows a close diffs.
   */
  async expireBuffers(): Promise<void> {
    const ctx = this.#ctx;
    const latest = ctx.watermarks.latest();
    if (latest === null) return;
    // A side that has not delivered yet is not a side that stopped: one side's backlog may arrive
    // long before the other's first batch. Only once it stayed silent for an idle timeout.
    if (ctx.watermarks.combined() === null && Date.now() - this.#startedAt < ctx.idleTimeoutMs) return;
    const { windowMs } = ctx.plan;
    const before = Math.floor((latest - ctx.retentionMs) / windowMs) * windowMs;
    if (this.#open.expiredBefore !== null && before <= this.#open.expiredBefore) return;
    this.#open.expiredBefore = before;
    this.#early.expiredBefore(before);
    // Batches classified before the move may still add records of those windows.
    await ctx.writes.inFlight();
    const expired = ctx.checkpoint.forgetBefore(before);
    if (expired.size === 0) return;
    for (const [side, n] of expired) {
      ctx.checkpoint.count(ctx.epoch(), side, 'buffered', -n);
      ctx.checkpoint.count(ctx.epoch(), side, 'late', n);
      ctx.metrics.addRecords(ctx.comparison, side, 'late', n);
    }
    ctx.pairs.dropBefore(before);
    await dropBuffers(this.#closer, ctx.comparison, `w < ${before}`);
    this.buffersChanged();
  }

  /** Diffs the next windows to close while their lateness runs; not while a side catches up, where windows close many at a time. */
  async diffEarly(): Promise<void> {
    const combined = this.#ctx.watermarks.combined();
    if (combined === null || !Number.isFinite(combined) || this.#ctx.catchingUp()) return;
    await this.#early.run(combined, this.#bufferGeneration, (windows) => this.#diff(windows));
  }

  /** The start of the last window whose end plus the allowed lateness `through` has passed. */
  #lastClosable(through: number): number {
    const { windowMs, latenessMs } = this.#ctx.plan;
    return Math.floor((through - windowMs - latenessMs) / windowMs) * windowMs;
  }

  #diff(windows: number[]): Promise<ClosedWindows> {
    const { comparison, spec, hasControl, pairs, countMisrouted } = this.#ctx;
    return diffWindows(this.#closer, comparison, windows, spec, hasControl, pairs, countMisrouted, this.#settle);
  }

  /** Stores a diff of closed windows with a checkpoint, drops their buffers, then counts them in the metrics. */
  async #store(closed: ClosedWindows): Promise<void> {
    const { comparison, metrics, checkpoint } = this.#ctx;
    const epoch = this.#ctx.epoch();
    const { statements, deltas } = closedWindowRows(comparison, epoch, closed);
    checkpoint.forget(closed.windows);
    for (const delta of deltas) checkpoint.count(epoch, delta.side, delta.status, delta.n);
    await this.#ctx.commit(statements);
    await dropBuffers(this.#closer, comparison, `w IN (${closed.windows.join(', ')})`);
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
      const misrouted = closed.misrouted?.[side] ?? 0;
      metrics.addRecords(comparison, side, 'accepted', counts.valid - counts.duplicates - misrouted);
      metrics.addRecords(comparison, side, 'misrouted', misrouted);
      metrics.addRecords(comparison, side, 'duplicate', counts.duplicates);
      metrics.addRecords(comparison, side, 'invalid', counts.invalid);
    }
  }
}
