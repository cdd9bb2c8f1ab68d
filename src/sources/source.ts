import type { PreparedBatch } from '../align/prepare.js';

/**
 * One record as a source delivers it, before decoding. `partition` and `offset` are its source
 * position: offsets grow within a partition, so (partition, offset) identifies a record and lets
 * a restarted service skip what it already counted.
 */
export interface RawRecord {
  /** `orders.v2/3` for Kafka, the file path, `simulate`. */
  partition: string;
  offset: number;
  key: Buffer | null;
  value: Buffer | string | null;
  /** Record timestamp (ms since the epoch); the event time when `time: {source: kafka}`. */
  timestamp: number;
  /** Why the source could not read this record (an undecodable Avro record); its value is null. */
  error?: string;
}

export interface BatchControl {
  /** Keeps a consumer group membership alive during long work. */
  heartbeat(): Promise<void>;
}

/** Positions [from, to) of a partition that the log no longer has where the source resumed. */
export interface LogGap {
  source: string;
  from: number;
  to: number;
}

/** `gaps`: told once, with the first delivery after the source resumed past them (possibly an empty one). */
export type RecordHandler = (records: RawRecord[], control: BatchControl, gaps?: LogGap[]) => Promise<void>;

/** Per partition a position: where to resume after, or what to commit. */
export type DurablePositions = ReadonlyMap<string, number>;

/** Where a side starts, from its stored checkpoint, per partition. */
export interface StartPositions {
  /** The last position no open window needs: the source starts after it. */
  skipThrough: DurablePositions;
  /** Every record at or before this was counted before: read again only to rebuild open windows. */
  countedThrough: DurablePositions;
}

/** What the runner asks of a side's input, whatever it delivers. */
export interface SourceControl {
  /** Nothing needs records up to these positions any more: a Kafka source commits them to its group. */
  commit(positions: DurablePositions): Promise<void>;
  /** Backpressure: stop and restart delivering (this side runs ahead of the others). */
  pause(): void;
  resume(): void;
  isPaused(): boolean;
  stop(): Promise<void>;
  isConnected(): boolean;
  /** Why the source is not connected while it keeps trying (broker unreachable, topic missing); null otherwise. */
  lastError(): string | null;
  /** True once a finite input is fully delivered: the side's watermark moves to +∞. */
  hasEnded(): boolean;
  /** Records not yet delivered, when the source knows (Kafka consumer lag). */
  backlog(): number | null;
  /**
   * Every partition this source reads, known once started. Until a partition delivers (or turns
   * idle), it holds its side's watermark: a partition whose records have not arrived yet must not
   * let windows close over them.
   */
  partitions(): string[];
}

/** One side's input as records. Kafka, file replay and the simulator implement it. */
export interface RecordSource extends SourceControl {
  /** True when values are JSON texts already (files, simulator); Kafka values are bytes in the comparison's format. */
  readonly decoded: boolean;
  /** Starts delivering records after the `skipThrough` positions; resolves once started. */
  start(handler: RecordHandler, skipThrough: DurablePositions): Promise<void>;
}

export type PreparedHandler = (batch: PreparedBatch) => Promise<void>;

/**
 * One side's input as the runner takes it: decoded, deduped and packed (`align/prepare.ts`), on
 * this thread (`PreparingSource`) or on a thread of its own (`ThreadedSource`).
 */
export interface PreparedSource extends SourceControl {
  /** Starts delivering after the checkpoint's resume positions; resolves once started. */
  start(handler: PreparedHandler, start: StartPositions): Promise<void>;
}
