import type { Side } from '../config/schema.js';

interface PartitionState {
  /** null until the partition delivers a record with an event time. */
  maxEventTime: number | null;
  lastSeenAt: number;
}

/**
 * Event-time watermarks (SPEC §1): per source partition the latest event time seen; a side's
 * watermark is the minimum over its partitions that are not idle. A partition is idle when it
 * delivered nothing for `idleTimeoutMs`, unless its side is paused (a paused partition holds the
 * watermark, or backpressure would let windows close early). A side whose partitions are all idle
 * keeps its latest event time: it stops advancing, and shows as lag. End of input is +∞.
 */
export class WatermarkTracker {
  readonly #idleTimeoutMs: number;
  readonly #partitions = new Map<Side, Map<string, PartitionState>>();
  readonly #ended = new Set<Side>();
  readonly #paused = new Set<Side>();

  constructor(sides: readonly Side[], idleTimeoutMs: number) {
    this.#idleTimeoutMs = idleTimeoutMs;
    for (const side of sides) this.#partitions.set(side, new Map());
  }

  get sides(): Side[] {
    return [...this.#partitions.keys()];
  }

  /** A partition the side reads: it holds the watermark until it delivers or turns idle. */
  register(side: Side, partition: string, now = Date.now()): void {
    const partitions = this.#partitions.get(side);
    if (partitions && !partitions.has(partition)) partitions.set(partition, { maxEventTime: null, lastSeenAt: now });
  }

  observe(side: Side, partition: string, eventTime: number, now = Date.now()): void {
    const partitions = this.#partitions.get(side);
    if (!partitions) return;
    const state = partitions.get(partition);
    if (!state) partitions.set(partition, { maxEventTime: eventTime, lastSeenAt: now });
    else {
      state.maxEventTime = Math.max(state.maxEventTime ?? eventTime, eventTime);
      state.lastSeenAt = now;
    }
  }

  /** A partition was active, even if none of its records had a usable event time. */
  touch(side: Side, partition: string, now = Date.now()): void {
    this.register(side, partition, now);
    const state = this.#partitions.get(side)?.get(partition);
    if (state) state.lastSeenAt = now;
  }

  setEnded(side: Side, ended: boolean): void {
    if (ended) this.#ended.add(side);
    else this.#ended.delete(side);
  }

  setPaused(side: Side, paused: boolean): void {
    if (paused) this.#paused.add(side);
    else this.#paused.delete(side);
  }

  /** ms since the epoch; null before the side's first record; Infinity at end of input. */
  watermark(side: Side, now = Date.now()): number | null {
    if (this.#ended.has(side)) return Number.POSITIVE_INFINITY;
    const partitions = [...(this.#partitions.get(side)?.values() ?? [])];
    if (partitions.length === 0) return null;
    const active = this.#paused.has(side)
      ? partitions
      : partitions.filter((p) => now - p.lastSeenAt < this.#idleTimeoutMs);
    const seen = partitions.map((p) => p.maxEventTime).filter((t): t is number => t !== null);
    if (active.length === 0) return seen.length === 0 ? null : Math.max(...seen);
    if (active.some((p) => p.maxEventTime === null)) return null;
    return Math.min(...active.map((p) => p.maxEventTime as number));
  }

  /** The latest event time any partition of any side delivered; null before the first. */
  latest(): number | null {
    let latest: number | null = null;
    for (const partitions of this.#partitions.values()) {
      for (const { maxEventTime } of partitions.values()) {
        if (maxEventTime !== null && (latest === null || maxEventTime > latest)) latest = maxEventTime;
      }
    }
    return latest;
  }

  /** The watermark every side has passed; null until every side has one. */
  combined(now = Date.now()): number | null {
    let low = Number.POSITIVE_INFINITY;
    for (const side of this.#partitions.keys()) {
      const mark = this.watermark(side, now);
      if (mark === null) return null;
      low = Math.min(low, mark);
    }
    return low;
  }
}
