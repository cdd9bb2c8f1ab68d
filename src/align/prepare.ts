import { setImmediate } from 'node:timers/promises';
import { isDecodeError } from '../codec/decode-error.js';
import type { MessageDecoder } from '../codec/decoder.js';
import { partitionInScope } from '../diff/scope.js';
import type { BatchControl, LogGap, RawRecord, StartPositions } from '../sources/source.js';
import { holdsRecordSeparator, RECORD_SEPARATOR } from './ingest.js';
import { type KeySampler, type KeySampling, keySampler, type SampleDecision } from './key-sample.js';
import { type KeyedRecord, RecordKeyer, type RecordKeying } from './record-keyer.js';

/**
 * The records of one source partition in one delivery, packed as DuckDB takes them (one
 * statement per batch, `align/ingest.ts`): the texts as one UTF-8 blob joined by U+001E, the
 * positions (and Kafka keys and timestamps, when the plan uses them) as joined text. Native
 * copies and joins instead of a JS value per record downstream, and a form that crosses threads
 * as one transferred buffer and a few strings.
 */
export interface PackedPartition {
  source: string;
  /** Records in the pack. */
  count: number;
  /** Every record's JSON text, none holding U+001E, joined by U+001E. */
  docs: Uint8Array;
  /** Source positions, comma-joined, in arrival order. */
  positions: string;
  /** Kafka record keys joined by U+001E, when the plan keys by them. */
  keys?: string;
  /** Kafka record timestamps, comma-joined, when the plan times by them. */
  timestamps?: string;
  /** Records counted before a restart, read again from the log to rebuild open windows: never counted twice. */
  replay?: boolean;
  /**
   * Present when every record was keyed where the source ran (`align/record-keyer.ts`) and is
   * certainly sampled: the records summed up per window, while `keys` holds their canonical keys
   * and `timestamps` their event times, so DuckDB parses none of the texts and the batch is counted
   * without a query.
   */
  runs?: KeyedRun[];
  /** Where the texts stand in shared memory, when they were packed there (`docs` is then a view of it). */
  ring?: RingSlot;
  /** Frees the shared memory of the texts once they are copied; absent for texts in a buffer of their own. */
  release?: () => void;
}

/** The records of a keyed pack in one window. */
export interface KeyedRun {
  w: number;
  /** The first one's position. */
  first: number;
  n: number;
  maxEventTime: number;
}

/** A pack's place in shared memory: `end` counts every byte reserved up to its end. */
export interface RingSlot {
  offset: number;
  length: number;
  end: number;
}

/** Shared memory that packs may be written into instead of a buffer of their own. */
export interface PackMemory {
  /** Room for `length` bytes, or undefined when there is none now. */
  reserve(length: number): { bytes: Uint8Array; slot: RingSlot } | undefined;
}

export interface DeadLetter {
  source: string;
  position: number;
  reason: string;
  raw: string | null;
}

/** One delivery of one side, decoded and deduped, on its way to DuckDB. */
export interface PreparedBatch {
  partitions: PackedPartition[];
  /** Records found invalid before DuckDB (undecodable), counted by reason. */
  invalid: [string, number][];
  /** The first of them, as stored samples. */
  deadLetters: DeadLetter[];
  /** The last position taken per source partition (valid or not): counted through once buffered. */
  positions: [string, number][];
  /** Records of unsampled keys (SPEC §3), dropped here before any buffering: counted `sampled_out`. */
  sampledOut: number;
  /** Records of source partitions outside the comparison's scope (`PrepareOptions.partitions`): counted, never packed. */
  outOfScope: number;
  /** Records taken: packed, invalid, sampled out and out of scope. */
  records: number;
  /** Positions the log no longer has where the source resumed (retention deleted them). */
  gaps?: LogGap[];
}

export interface PrepareOptions {
  /** For sources whose values are message bytes (Kafka); sources of JSON texts need none. */
  decoder?: MessageDecoder;
  recordKeys: boolean;
  recordTimestamps: boolean;
  /** Dead letters kept per delivery. */
  deadLetterLimit: number;
  /** JSON texts (files, simulator) longer than this many UTF-8 bytes are invalid (`oversized`), as Kafka messages are. */
  maxRecordBytes?: number;
  /** Where to pack texts when it has room (a source thread's ring). */
  memory?: PackMemory;
  /** Sampling below rate 1: records of unsampled keys are counted and dropped here, not packed. */
  sampling?: KeySampling;
  /** The Kafka partitions (numbers) in the comparison's scope for this side; records of others are out of scope. */
  partitions?: readonly number[];
  /** Key and time valid records here, so DuckDB appends them without parsing; absent: DuckDB keys every record. */
  keying?: RecordKeying;
}

const SEPARATOR = Buffer.from(RECORD_SEPARATOR);
/** Records handled between heartbeats and turns of the event loop. */
const HEARTBEAT_EVERY = 1000;
const DEAD_LETTER_RAW_CHARS = 1024;
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Packs texts, positions and optional keys and timestamps of one partition. The blob goes into
 * `memory` when it has room, else into a buffer of its own (never Node's shared pool), so it can
 * be transferred to another thread.
 */
export function packPartition(
  source: string,
  positions: number[],
  docs: (Buffer | string)[],
  keys?: string[],
  timestamps?: number[],
  memory?: PackMemory,
  replay = false,
  runs?: KeyedRun[],
): PackedPartition {
  let size = Math.max(0, docs.length - 1) * SEPARATOR.length;
  for (const doc of docs) size += typeof doc === 'string' ? Buffer.byteLength(doc) : doc.length;
  const shared = memory?.reserve(size);
  const target = shared?.bytes ?? Buffer.allocUnsafeSlow(size);
  const joined = Buffer.from(target.buffer, target.byteOffset, target.byteLength);
  let at = 0;
  for (let i = 0; i < docs.length; i++) {
    if (i > 0) at += SEPARATOR.copy(joined, at);
    const doc = docs[i] as Buffer | string;
    at += typeof doc === 'string' ? joined.write(doc, at) : doc.copy(joined, at);
  }
  return {
    source,
    count: docs.length,
    docs: joined,
    positions: positions.join(','),
    ...(keys ? { keys: keys.join(RECORD_SEPARATOR) } : {}),
    ...(timestamps ? { timestamps: timestamps.join(',') } : {}),
    ...(shared ? { ring: shared.slot } : {}),
    ...(replay ? { replay } : {}),
    ...(runs ? { runs } : {}),
  };
}

/**
 * The packs of a batch with those of one source partition, kind (keyed at the source or not) and
 * replay joined into one, in delivery order: DuckDB takes a batch in one statement slot per pack,
 * and a statement of more slots costs more to plan and to run, so a batch gathered from many small
 * deliveries would cost more than their records. The joined texts are copied out: the originals
 * are released at once.
 */
export function joinPacks(packs: readonly PackedPartition[]): PackedPartition[] {
  const groups = new Map<string, PackedPartition[]>();
  for (const pack of packs) {
    const kind = `${pack.source}\u0000${pack.runs ? 'keyed' : 'classify'}\u0000${pack.replay === true}`;
    const group = groups.get(kind);
    if (group) group.push(pack);
    else groups.set(kind, [pack]);
  }
  return [...groups.values()].map((group) => (group.length === 1 ? (group[0] as PackedPartition) : joinGroup(group)));
}

function joinGroup(group: PackedPartition[]): PackedPartition {
  const filled = group.filter((pack) => pack.count > 0);
  const first = group[0] as PackedPartition;
  let size = Math.max(0, filled.length - 1) * SEPARATOR.length;
  for (const pack of filled) size += pack.docs.length;
  const joined = Buffer.allocUnsafeSlow(size);
  let at = 0;
  for (const [i, pack] of filled.entries()) {
    if (i > 0) at += SEPARATOR.copy(joined, at);
    joined.set(pack.docs, at);
    at += pack.docs.length;
  }
  for (const pack of group) pack.release?.();
  const keys = filled.every((pack) => pack.keys !== undefined);
  const timestamps = filled.every((pack) => pack.timestamps !== undefined);
  return {
    source: first.source,
    count: filled.reduce((sum, pack) => sum + pack.count, 0),
    docs: joined,
    positions: filled.map((pack) => pack.positions).join(','),
    ...(keys ? { keys: filled.map((pack) => pack.keys).join(RECORD_SEPARATOR) } : {}),
    ...(timestamps ? { timestamps: filled.map((pack) => pack.timestamps).join(',') } : {}),
    ...(first.replay ? { replay: true } : {}),
    ...(first.runs ? { runs: filled.flatMap((pack) => pack.runs ?? []) } : {}),
  };
}

/** The stored form of an undecodable record: its text, or `base64:` and its bytes when it is not text. */
function deadLetterText(value: Buffer | string | null): string | null {
  if (value === null) return null;
  let text: string;
  try {
    text = typeof value === 'string' ? value : UTF8.decode(value);
  } catch {
    return `base64:${(value as Buffer).subarray(0, DEAD_LETTER_RAW_CHARS).toString('base64')}`;
  }
  return text.slice(0, DEAD_LETTER_RAW_CHARS);
}

/** A Kafka record key as text; one holding the record separator cannot travel with its batch and counts as no key. */
function recordKeyText(key: Buffer | null): string {
  const text = key?.toString('utf8') ?? '';
  return holdsRecordSeparator(text) ? '' : text;
}

interface Decoded {
  doc?: Buffer | string;
  reason?: string;
  /** The record's key is certainly valid and not sampled. */
  sampledOut?: true;
  /** Sampling could not tell whether the record's key is sampled: DuckDB decides. */
  sampleUnsure?: true;
}

const SAMPLED_OUT: Decoded = { sampledOut: true };

interface Gathered {
  source: string;
  replay: boolean;
  /** Per window, for a keyed pack. */
  runs?: Map<number, KeyedRun>;
  positions: number[];
  docs: (Buffer | string)[];
  keys?: string[];
  timestamps?: number[];
}

/**
 * Turns one side's deliveries into prepared batches: skips records at or below the last position
 * already taken from their partition (a redelivery after a rebalance is taken once), counts and
 * drops records of unsampled keys (before decoding where the key can be read without: the Kafka
 * key, JSON text), decodes each to JSON text or counts it invalid with a dead letter, and packs the
 * rest. Records at or below a partition's counted-through position are replays: packed apart, and
 * never counted again (an undecodable or unsampled one is dropped). A record is taken once
 * prepared: whoever cannot use a batch starts over with a new preparer from the stored checkpoint
 * (the runner refuses batches only once its comparison has failed).
 */
export class RecordPreparer {
  readonly #options: PrepareOptions;
  readonly #sampler: KeySampler | undefined;
  readonly #keyer: RecordKeyer | undefined;
  /** Per partition: the last position taken in (buffered, being buffered or on its way). */
  readonly #taken: Map<string, number>;
  readonly #countedThrough: ReadonlyMap<string, number>;

  constructor(options: PrepareOptions, start: StartPositions) {
    this.#options = options;
    this.#sampler = keySampler(options.sampling);
    this.#keyer = options.keying && new RecordKeyer(options.keying);
    this.#taken = new Map(start.skipThrough);
    this.#countedThrough = start.countedThrough;
  }

  /** `decoded`: the values are JSON texts already (files, simulator). */
  async prepare(
    records: RawRecord[],
    control: BatchControl,
    decoded: boolean,
    gaps?: LogGap[],
  ): Promise<PreparedBatch> {
    const { recordKeys, recordTimestamps, deadLetterLimit } = this.#options;
    const gathered = new Map<string, Gathered>();
    const invalid = new Map<string, number>();
    const deadLetters: DeadLetter[] = [];
    const positions = new Map<string, number>();
    const scope = this.#options.partitions;
    const inScope = new Map<string, boolean>();
    let outOfScope = 0;
    let taken = 0;
    let sampledOut = 0;
    let handled = 0;
    for (const record of records) {
      // Large deliveries must neither cost a consumer its group membership nor hold the event loop.
      if (++handled % HEARTBEAT_EVERY === 0) {
        await control.heartbeat();
        await setImmediate();
      }
      if (record.offset <= (this.#taken.get(record.partition) ?? Number.NEGATIVE_INFINITY)) continue;
      this.#taken.set(record.partition, record.offset);
      positions.set(record.partition, record.offset);
      taken++;
      const replay = record.offset <= (this.#countedThrough.get(record.partition) ?? Number.NEGATIVE_INFINITY);
      if (scope) {
        let scoped = inScope.get(record.partition);
        if (scoped === undefined) {
          scoped = partitionInScope(scope, record.partition);
          inScope.set(record.partition, scoped);
        }
        // Outside the scope before decoding: a replay of one was counted before.
        if (!scoped) {
          if (!replay) outOfScope++;
          continue;
        }
      }
      const pending = this.#decode(record, decoded);
      const result = pending instanceof Promise ? await pending : pending;
      if ((result.doc === undefined || result.sampledOut) && replay) continue;
      if (result.sampledOut) {
        sampledOut++;
        continue;
      }
      if (result.doc === undefined) {
        const reason = result.reason ?? 'malformed';
        invalid.set(reason, (invalid.get(reason) ?? 0) + 1);
        if (deadLetters.length < deadLetterLimit) {
          deadLetters.push({
            source: record.partition,
            position: record.offset,
            reason,
            raw: deadLetterText(record.value),
          });
        }
        continue;
      }
      let doc = result.doc;
      let keyed: KeyedRecord | undefined;
      if (this.#keyer && !result.sampleUnsure) {
        // Bytes once: the keyer reads them, and packing copies them as they are.
        if (typeof doc === 'string') doc = Buffer.from(doc);
        keyed = this.#keyer.keyOf(doc, record.key, record.timestamp);
      }
      const packKey = `${replay ? 'r' : 'n'}${keyed ? 'k' : 't'}${record.partition}`;
      let partition = gathered.get(packKey);
      if (!partition) {
        partition = {
          source: record.partition,
          replay,
          ...(keyed ? { runs: new Map() } : {}),
          positions: [],
          docs: [],
          ...(recordKeys || keyed ? { keys: [] } : {}),
          ...(recordTimestamps || keyed ? { timestamps: [] } : {}),
        };
        gathered.set(packKey, partition);
      }
      partition.positions.push(record.offset);
      partition.docs.push(doc);
      if (keyed) {
        partition.keys?.push(keyed.key);
        partition.timestamps?.push(keyed.eventTime);
        const run = partition.runs?.get(keyed.w);
        if (run) {
          run.n++;
          run.maxEventTime = Math.max(run.maxEventTime, keyed.eventTime);
        } else partition.runs?.set(keyed.w, { w: keyed.w, first: record.offset, n: 1, maxEventTime: keyed.eventTime });
      } else {
        partition.keys?.push(recordKeyText(record.key));
        partition.timestamps?.push(record.timestamp);
      }
    }
    return {
      partitions: [...gathered.values()].map((g) =>
        packPartition(
          g.source,
          g.positions,
          g.docs,
          g.keys,
          g.timestamps,
          this.#options.memory,
          g.replay,
          g.runs && [...g.runs.values()],
        ),
      ),
      invalid: [...invalid],
      deadLetters,
      positions: [...positions],
      sampledOut,
      outOfScope,
      records: taken,
      ...(gaps && gaps.length > 0 ? { gaps } : {}),
    };
  }

  #oversized(value: Buffer | string): boolean {
    const limit = this.#options.maxRecordBytes;
    if (limit === undefined) return false;
    // A UTF-16 unit takes at most 3 UTF-8 bytes: most texts need no count of their bytes.
    if (typeof value === 'string') return value.length * 3 > limit && Buffer.byteLength(value) > limit;
    return value.length > limit;
  }

  /**
   * Decodes one record to JSON text, or finds its key unsampled (from the Kafka key or the JSON text
   * before decoding, from the decoded document after); synchronous unless the decoder must ask the
   * schema registry.
   */
  #decode(record: RawRecord, decoded: boolean): Decoded | Promise<Decoded> {
    if (record.error) return { reason: record.error };
    if (record.value === null) return { reason: 'empty' };
    const sampler = this.#sampler;
    // A document of a key sampling is unsure of is left to DuckDB whole: it decides the sampling.
    const decided = (decision: SampleDecision, doc: Buffer | string): Decoded =>
      decision === 'out' ? SAMPLED_OUT : decision === 'unsure' ? { doc, sampleUnsure: true } : { doc };
    let decision: SampleDecision = 'in';
    if (sampler?.reads === 'recordKey') decision = sampler.decide(record.key);
    if (decision === 'out') return SAMPLED_OUT;
    if (decoded) {
      if (this.#oversized(record.value)) return { reason: 'oversized' };
      if (sampler && sampler.reads !== 'recordKey') decision = sampler.decide(record.value);
      // The separator of records on their way to DuckDB cannot stand in valid JSON.
      return decision !== 'out' && holdsRecordSeparator(record.value)
        ? { reason: 'malformed' }
        : decided(decision, record.value);
    }
    const { decoder } = this.#options;
    if (!decoder) throw new Error('a source of message bytes needs a decoder');
    const value = typeof record.value === 'string' ? Buffer.from(record.value) : record.value;
    if (sampler?.reads === 'value') {
      // As the JSON decoder would, first: an oversized message is invalid whatever its key.
      if (this.#oversized(value)) return { reason: 'oversized' };
      decision = sampler.decide(value);
      if (decision === 'out') return SAMPLED_OUT;
    }
    const failed = (error: unknown): Decoded => {
      if (isDecodeError(error)) return { reason: error.reason };
      throw error;
    };
    const took = (doc: Buffer | string): Decoded =>
      decided(sampler?.reads === 'decoded' ? sampler.decide(doc) : decision, doc);
    try {
      const result = decoder(value);
      return result instanceof Promise ? result.then(took, failed) : took(result);
    } catch (error) {
      return failed(error);
    }
  }
}
