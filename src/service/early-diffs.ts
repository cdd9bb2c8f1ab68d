import type { Logger } from 'pino';
import type { ClosedWindows } from './window-close.js';

/** At most this many windows, the next to close, are diffed early. */
const EARLY_WINDOWS = 3;

/** A window diffed before it closed, and what its sides had buffered then (`Checkpoint.bufferedIn`). */
interface EarlyDiff {
  closed: ClosedWindows;
  buffered: string;
}

/**
 * Diffs of the next windows to close, taken while their allowed lateness runs, so that closing
 * them takes only a count of their buffered records: records of an open window are only ever
 * added, so an unchanged count means the early diff is the window's; a record that came meanwhile
 * means a fresh diff at close.
 */
export class EarlyDiffs {
  readonly #comparison: string;
  readonly #windowMs: number;
  readonly #latenessMs: number;
  readonly #logger: Logger;
  /** What the sides have buffered in a window, as one text that changes whenever a record joins it. */
  readonly #buffered: (w: number) => string;
  /** By window start. */
  readonly #diffs = new Map<number, EarlyDiff>();
  /** Window range and buffer generation of the last look: the same again means nothing new to diff. */
  #lookedAt = '';

  constructor(
    comparison: string,
    windowMs: number,
    latenessMs: number,
    logger: Logger,
    buffered: (w: number) => string,
  ) {
    this.#comparison = comparison;
    this.#buffered = buffered;
    this.#windowMs = windowMs;
    this.#latenessMs = latenessMs;
    this.#logger = logger;
  }

  /**
   * Diffs the next windows to close whose end every side has passed (`combined`), from the one
   * whose lateness ends first; none without lateness. `generation` moves whenever buffers change.
   */
  async run(combined: number, generation: number, diff: (windows: number[]) => Promise<ClosedWindows>): Promise<void> {
    const windowMs = this.#windowMs;
    const nextToClose = Math.floor((combined - windowMs - this.#latenessMs) / windowMs) * windowMs + windowMs;
    const newestEnded = Math.floor(combined / windowMs) * windowMs - windowMs;
    const lookAt = `${nextToClose}:${newestEnded}:${generation}`;
    if (lookAt === this.#lookedAt) return;
    this.#lookedAt = lookAt;
    for (let w = nextToClose; w <= Math.min(newestEnded, nextToClose + (EARLY_WINDOWS - 1) * windowMs); w += windowMs) {
      if (this.#diffs.has(w)) continue;
      // Counted before the diff: a record that lands in between changes the count, never the diff alone.
      const buffered = this.#buffered(w);
      if (buffered === '') continue;
      this.#diffs.set(w, { closed: await diff([w]), buffered });
      this.#logger.debug({ comparison: this.#comparison, window: w, buffered }, 'window diffed early');
    }
  }

  /** The early diffs of closing windows whose buffered records have not changed since, by window. */
  current(windows: number[]): Map<number, ClosedWindows> {
    const current = new Map<number, ClosedWindows>();
    for (const w of windows) {
      const early = this.#diffs.get(w);
      if (early && this.#buffered(w) === early.buffered) current.set(w, early.closed);
    }
    return current;
  }

  /** Drops the diffs of windows closed through `through`. */
  closedThrough(through: number): void {
    for (const w of this.#diffs.keys()) if (w + this.#windowMs + this.#latenessMs <= through) this.#diffs.delete(w);
  }

  /** Drops the diffs of windows starting before `before`, whose buffers expired. */
  expiredBefore(before: number): void {
    for (const w of this.#diffs.keys()) if (w < before) this.#diffs.delete(w);
  }
}
