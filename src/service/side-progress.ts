import type { WatermarkTracker } from '../align/watermarks.js';
import type { Side } from '../config/schema.js';
import type { ShadowdiffMetrics } from '../metrics/metrics.js';
import type { SourceControl } from '../sources/source.js';
import type { SideRuntime } from './contracts.js';

/** Every side's runtime state, and what the sides say of the comparison as a whole. */
export interface SidesRuntime {
  sides: Partial<Record<Side, SideRuntime>>;
  /** A side is neither connected nor at the end of its input. */
  connecting: boolean;
  /** The first side's source error, while it keeps trying. */
  error: string | undefined;
}

/**
 * How far each side has come: its lag behind live, and backpressure on a side that runs ahead.
 * Reads the watermarks and the sources; keeps only when each side's watermark last moved.
 */
export class SideProgress {
  readonly #watermarks: WatermarkTracker;
  readonly #sources: ReadonlyMap<Side, SourceControl>;
  readonly #sides: readonly Side[];
  /** Backpressure pauses a side whose watermark runs this far ahead of the slowest. */
  readonly #maxDrift: number;
  readonly #lastMarks = new Map<Side, number | null>();
  readonly #advancedAt = new Map<Side, number>();

  constructor(
    watermarks: WatermarkTracker,
    sources: ReadonlyMap<Side, SourceControl>,
    sides: readonly Side[],
    maxDriftMs: number,
  ) {
    this.#watermarks = watermarks;
    this.#sources = sources;
    this.#sides = sides;
    this.#maxDrift = maxDriftMs;
  }

  /** Remembers when each side's watermark last moved, for the stall part of the lag. */
  track(now = Date.now()): void {
    for (const side of this.#sides) {
      const mark = this.#watermarks.watermark(side, now);
      if (mark !== this.#lastMarks.get(side)) {
        this.#lastMarks.set(side, mark);
        this.#advancedAt.set(side, now);
      }
    }
  }

  /**
   * How far a side's watermark trails live's, in seconds; undefined while live has none. While
   * backpressure holds another side paused, live's watermark stops too, so a side that does not
   * advance meanwhile lags by at least the time it has been standing still: a stopped candidate
   * keeps the verdict INCONCLUSIVE once that passes maxLagSeconds.
   */
  lagSeconds(side: Side, now = Date.now()): number | undefined {
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

  /** Pauses a side whose watermark runs too far ahead of the slowest side, so buffers stay small. */
  applyBackpressure(): void {
    const marks = this.#sides.map((side) => this.#watermarks.watermark(side));
    if (marks.some((m) => m === null)) return;
    const slowest = Math.min(...(marks as number[]));
    for (const [side, source] of this.#sources) {
      const mark = this.#watermarks.watermark(side) as number;
      if (!Number.isFinite(mark)) continue;
      const drift = mark - slowest;
      if (!source.isPaused() && drift > this.#maxDrift) source.pause();
      else if (source.isPaused() && drift <= this.#maxDrift / 2) source.resume();
    }
  }

  runtime(): SidesRuntime {
    const sides: Partial<Record<Side, SideRuntime>> = {};
    let connecting = false;
    let waiting: string | undefined;
    for (const [side, source] of this.#sources) {
      const connected = source.isConnected();
      const endOfInput = source.hasEnded();
      const error = source.lastError();
      sides[side] = {
        watermark: this.#watermarks.watermark(side),
        lagSeconds: this.lagSeconds(side) ?? 0,
        consumerLag: source.backlog(),
        connected,
        endOfInput,
        ...(error === null ? {} : { error }),
      };
      if (!connected && !endOfInput) connecting = true;
      if (error !== null) waiting ??= `${side} source: ${error}`;
    }
    return { sides, connecting, error: waiting };
  }

  /** Watermarks as the summary shows them: ISO time, `end` once the input ended, null before any. */
  watermarkTimes(): Partial<Record<Side, string | null>> {
    const watermarks: Partial<Record<Side, string | null>> = {};
    for (const side of this.#sides) {
      const mark = this.#watermarks.watermark(side);
      watermarks[side] = mark === null ? null : Number.isFinite(mark) ? new Date(mark).toISOString() : 'end';
    }
    return watermarks;
  }

  /** The per-side gauges: watermark, lag, consumer lag. */
  publish(metrics: ShadowdiffMetrics, comparison: string): void {
    for (const [side, source] of this.#sources) {
      const mark = this.#watermarks.watermark(side);
      if (mark !== null) metrics.setWatermark(comparison, side, mark);
      metrics.setLag(comparison, side, this.lagSeconds(side) ?? 0);
      const backlog = source.backlog();
      if (backlog !== null) metrics.setConsumerLag(comparison, side, backlog);
    }
  }
}
