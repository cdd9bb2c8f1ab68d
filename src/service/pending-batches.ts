import type { DeadLetter, PackedPartition, PreparedBatch } from '../align/prepare.js';
import type { Side } from '../config/schema.js';
import type { PreparedSource } from '../sources/source.js';

/** Dead letters kept per batch: enough to show why records were invalid, bounded per write. */
export const DEAD_LETTERS_PER_BATCH = 20;
/** A side's pending batch stops gathering at this many records until its previous batch is buffered. */
export const MAX_PENDING_RECORDS = 50_000;
/**
 * With no batch of the side being buffered, its pending batch is buffered once it holds this many
 * records, or once its first records have waited LINGER_MS: every batch costs DuckDB a fixed part
 * whatever its size (~2 ms for a batch keyed at the source; ~20 ms for one DuckDB classifies, whose
 * regular expressions compile on every run), so a trickle of records makes a few batches a second
 * instead of one per delivery.
 */
export const FLUSH_RECORDS = 5_000;
const LINGER_MS = 500;

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
  /** Per side: records decoded but not yet being written. */
  readonly #pending = new Map<Side, PendingBatch>();
  /** Per side: the batch being buffered. */
  readonly #flushing = new Map<Side, Promise<void>>();
  /** Per side: when its pending batch is buffered if it does not fill first. */
  readonly #lingering = new Map<Side, NodeJS.Timeout>();

  constructor(writing: BatchWriting) {
    this.#writing = writing;
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
        };
        this.#pending.set(side, batch);
      }
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

  /** With nothing of the side being written: writes its pending batch if full enough, else soon. */
  #schedule(side: Side): void {
    const pending = this.#pending.get(side);
    if (!pending) return;
    if (pending.records >= FLUSH_RECORDS) this.#flush(side);
    else if (!this.#lingering.has(side)) {
      const flush = () => {
        this.#lingering.delete(side);
        if (!this.#flushing.has(side) && this.#pending.has(side)) this.#flush(side);
      };
      this.#lingering.set(side, setTimeout(flush, LINGER_MS));
    }
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
    clearTimeout(this.#lingering.get(side));
    this.#lingering.delete(side);
    const batch = this.#pending.get(side) as PendingBatch;
    this.#pending.delete(side);
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
