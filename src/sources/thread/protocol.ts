import type { PreparedBatch, PrepareOptions } from '../../align/prepare.js';
import type { ComparisonConfig } from '../../config/schema.js';
import type { KafkaConnectionOptions } from '../kafka/client.js';
import type { KafkaSourceOptions } from '../kafka/source.js';

/** What a source thread is started with: a Kafka side, its decoding and its packing. */
export interface SourceThreadSpec {
  connection: KafkaConnectionOptions;
  source: Omit<KafkaSourceOptions, 'onCrash'>;
  decode: Pick<ComparisonConfig, 'format' | 'schema' | 'maxMessageBytes'> & { registryUrl: string };
  prepare: Omit<PrepareOptions, 'decoder' | 'memory'>;
  /** The main logger's level; null when the thread logs nothing. */
  logLevel: string | null;
}

/** What the thread gets: its spec, and the ring its texts travel in (`text-ring.ts`). */
export interface SourceThreadData extends SourceThreadSpec {
  ring: SharedArrayBuffer;
}

export interface ThreadError {
  message: string;
  name: string;
}

/** What the main thread knows of the source without asking: sent after start, then whenever it changes. */
export interface SourceState {
  connected: boolean;
  /** Why the source is not connected while it keeps trying; null otherwise. */
  error: string | null;
  ended: boolean;
  backlog: number | null;
  partitions: string[];
}

/** Requests carry an id; the thread answers each with a `reply` of the same id. */
export type ToSourceThread =
  | { type: 'start'; id: number; skipThrough: [string, number][]; countedThrough: [string, number][] }
  | { type: 'commit'; id: number; positions: [string, number][] }
  | { type: 'stop'; id: number }
  /** The main thread has taken a batch: the source moves past it, or (error) delivers it again. */
  | { type: 'handled'; id: number; error?: string }
  | { type: 'pause' | 'resume' };

export type FromSourceThread =
  | { type: 'reply'; id: number; error?: ThreadError }
  | { type: 'batch'; id: number; batch: PreparedBatch }
  | { type: 'state'; state: SourceState }
  | { type: 'crash'; error: ThreadError }
  | { type: 'log'; line: string };
