import { type DeadLetter, joinPacks, type PackedPartition, type PreparedBatch } from '../align/prepare.js';
import type { Side } from '../config/schema.js';
import type { PreparedSource } from '../sources/source.js';

/** Dead letters kept per batch: enough to show why records were invalid, bounded per write. */
export const DEAD_LETTERS_PER_BATCH = 20;
/** A side's pending batch stops gathering at this many records until its previous batch is buffered. */
export const MAX_PENDING_RECORDS = 50_000;
/**
 * With no batch of the side being buffered, its pending batch is buffered once it holds this many
 * records, or once its first records have waited a while: every batch costs DuckDB a fixed part
 * whatever its size (~2 ms for a batch keyed at the source; ~20 ms for one DuckDB classifies, whose
 * regular expressions compile on every run), so a trickle of records makes a batch every second or
 * two instead of one per delivery.
 */
export const FLUSH_RECORDS = 5_000;
/** How long records DuckDB classifies wait: their event times are known only once it has. */
export const LINGER_MS = 500;
/**
 * How long records keyed at the source may wait at most (`lingerMs`). They wait only while they
 * move no watermark past a window's end (an early diff) or its end plus the allowed lateness (a
 * close): a delivery that does, or a partition's first, is buffered at once, so no window closes
 * later than it would have.
 */
export const KEYED_LINGER_MS = 2_000;

/** The windows of event time that a watermark passing their end or close point matters to. */
export interface WindowBounds {
  windowMs: number;
  latenessMs: number;
  /** A partition silent this long is idle: records may not wait anywhere near as long. */
  idleTimeoutMs: number;
}

/** How long a pending batch keyed at the source may wait: KEYED_LINGER_MS, well within an idle timeout, never below LINGER_MS. */
export function keyedLingerMs(bounds: WindowBounds): number {
  return Math.max(LINGER_MS, Math.min(KEYED_LINGER_MS, bounds.idleTimeoutMs / 4));
}

/** Deliveries of one side gathered while its previous batch is written, on their way to DuckDB as one batch. */
export interface PendingBatch {
  source: PreparedSource;
  partitions: PackedPartition[];
  /** Records found invalid before DuckDB (undecodable), counted by reason. */
  invalid: Map<string, number>;
  /** Records of unsampled keys, dropped where the source runs. */
  sampledOut: number;
  /** Records of source partitions outside the scope. */
  outOfScope: number;
  deadLetters: DeadLetter[];
  /** The last position taken per source partition. */
  positions: Map<string, number>;
  records: number;
  /** A delivery moved a partition's latest event time past a window's end or close point: buffer it now. */
  urgent: boolean;
  /** Holds records DuckDB classifies (not keyed at the source): it lingers LINGER_MS at most. */
  unkeyed: boolean;
  /** When its first records came (ms since the epoch). */
  since: number;
}

export interface BatchWriting {
  /** Buffers one batch of one side. */
  write(side: Side, batch: PendingBatch): Promise<void>;
  /** A batch is buffered: the watermarks may have passed a window. */
  written(): void;
  failed(error: unknown): void;
  /** Once true, gathered batches are no longer written. */
  isFailed(): boolean;
}

/**
 * Gathers each side's prepared deliveries into a pending batch while the side's previous batch is
 * buffered, or for a moment when records trickle in: no work per record here. Each side has one
 * batch being buffered while the next gathers, so fetching and decoding go on while DuckDB
 * classifies, and DuckDB gets batches larger than one fetch. A side whose pending batch is full
 * waits for its write: memory stays bounded.
 */
export class PendingBatches {
  readonly #writing: BatchWriting;
  readonly #bounds: WindowBounds;
  readonly #keyedLingerMs: number;
  /** Per side: records decoded but not yet being written. */
  readonly #pending = new Map<Side, PendingBatch>();
  /** Per side: the batch being buffered. */
  readonly #flushing = new Map<Side, Promise<void>>();
  /** Per side: when its pending batch is buffered if it does not fill first (`at`, ms since the epoch). */
  readonly #lingering = new Map<Side, { timer: NodeJS.Timeout; at: number }>();
  /** Per side and source partition: the latest event time of the records taken from it. */
  readonly #latest = new Map<Side, Map<string, number>>();

  constructor(writing: BatchWriting, bounds: WindowBounds) {
    this.#writing = writing;
    this.#bounds = bounds;
    this.#keyedLingerMs = keyedLingerMs(bounds);
  }

  async add(side: Side, source: PreparedSource, prepared: PreparedBatch): Promise<void> {
    if (prepared.records > 0) {
      let batch = this.#pending.get(side);
      if (!batch) {
        batch = {
          source,
          partitions: [],
          invalid: new Map(),
          sampledOut: 0,
          outOfScope: 0,
          deadLetters: [],
          positions: new Map(),
          records: 0,
          urgent: false,
          unkeyed: false,
          since: Date.now(),
        };
        this.#pending.set(side, batch);
      }
      batch.urgent ||= this.#crossesBound(side, prepared.partitions);
      batch.unkeyed ||= prepared.partitions.some((partition) => partition.count > 0 && !partition.runs);
      batch.partitions.push(...prepared.partitions);
      for (const [reason, n] of prepared.invalid) batch.invalid.set(reason, (batch.invalid.get(reason) ?? 0) + n);
      const room = DEAD_LETTERS_PER_BATCH - batch.deadLetters.length;
      if (room > 0) batch.deadLetters.push(...prepared.deadLetters.slice(0, room));
      for (const [partition, position] of prepared.positions) batch.positions.set(partition, position);
      batch.sampledOut += prepared.sampledOut;
      batch.outOfScope += prepared.outOfScope;
      batch.records += prepared.records;
    }
    const writing = this.#flushing.get(side);
    if (!writing) this.#schedule(side);
    else if ((this.#pending.get(side)?.records ?? 0) >= MAX_PENDING_RECORDS) await writing;
  }

  /**
   * Whether keyed packs move a partition's latest event time past a window's end or its close
   * point (or bring its first event time): the watermarks must see them at once, or a window's
   * early diff or close would wait for the linger.
   */
  #crossesBound(side: Side, partitions: readonly PackedPartition[]): boolean {
    let latest = this.#latest.get(side);
    if (!latest) {
      latest = new Map();
      this.#latest.set(side, latest);
    }
    const { windowMs, latenessMs } = this.#bounds;
    const ends = (t: number) => Math.floor(t / windowMs);
    const closes = (t: number) => Math.floor((t - latenessMs) / windowMs);
    let crossed = false;
    for (const partition of partitions) {
      for (const run of partition.runs ?? []) {
        const before = latest.get(partition.source);
        if (before !== undefined && run.maxEventTime <= before) continue;
        crossed ||=
          before === undefined || ends(run.maxEventTime) > ends(before) || closes(run.maxEventTime) > closes(before);
        latest.set(partition.source, run.maxEventTime);
      }
    }
    return crossed;
  }

  /** With nothing of the side being written: writes its pending batch if full enough or urgent, else soon. */
  #schedule(side: Side): void {
    const pending = this.#pending.get(side);
    if (!pending) return;
    if (pending.records >= FLUSH_RECORDS || pending.urgent) {
      this.#flush(side);
      return;
    }
    const at = pending.since + (pending.unkeyed ? LINGER_MS : this.#keyedLingerMs);
    const lingering = this.#lingering.get(side);
    if (lingering && lingering.at <= at) return;
    clearTimeout(lingering?.timer);
    const flush = () => {
      this.#lingering.delete(side);
      if (!this.#flushing.has(side) && this.#pending.has(side)) this.#flush(side);
    };
    this.#lingering.set(side, { timer: setTimeout(flush, Math.max(0, at - Date.now())), at });
  }

  /** Writes the side's pending batch now unless one of it is being written: its input has ended. */
  flushNow(side: Side): void {
    if (this.#pending.has(side) && !this.#flushing.has(side)) this.#flush(side);
  }

  /** Nothing of the side waits to be written or is being written. */
  isIdle(side: Side): boolean {
    return !this.#pending.has(side) && !this.#flushing.has(side);
  }

  /** Writes what is pending now, and resolves once every batch gathered so far is written (or failed). */
  async settle(): Promise<void> {
    for (const side of this.#pending.keys()) if (!this.#flushing.has(side)) this.#flush(side);
    while (this.#flushing.size > 0) await Promise.all(this.#flushing.values());
  }

  /** Writes the side's pending batch, and the one that gathered meanwhile once it is done. */
  #flush(side: Side): void {
    clearTimeout(this.#lingering.get(side)?.timer);
    this.#lingering.delete(side);
    const batch = this.#pending.get(side) as PendingBatch;
    this.#pending.delete(side);
    batch.partitions = joinPacks(batch.partitions);
    const run = this.#writing.write(side, batch).then(
      () => {
        this.#flushing.delete(side);
        this.#writing.written();
        if (!this.#writing.isFailed()) this.#schedule(side);
      },
      (error) => {
        this.#flushing.delete(side);
        this.#writing.failed(error);
      },
    );
    this.#flushing.set(side, run);
  }
}
