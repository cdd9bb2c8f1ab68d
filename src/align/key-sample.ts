import { isUtf8 } from 'node:buffer';
import { createMD5 } from 'hash-wasm';
import type { ComparisonConfig } from '../config/schema.js';
import { pathSegments } from '../diff/paths.js';
import { KeyReader } from './key-reader.js';
import { KAFKA_KEY, KEY_TAG, keyLabel, keyReadAtSource, samplingThreshold } from './keys.js';

const RECORD_SEPARATOR_BYTE = 0x1e;
const TAG_BYTE = KEY_TAG.charCodeAt(0);
/**
 * MD5 in WebAssembly, one hasher reused for every key: node:crypto's one-shot `hash('md5', …)`
 * costs 5 times as much per short key (OpenSSL's per-call set-up), more than reading the key.
 */
const md5 = await createMD5();

/** Multiplied, not shifted: a shift would make the top bit a sign. */
const uint32LE = (bytes: Uint8Array, at: number) =>
  (bytes[at + 3] as number) * 0x100_0000 +
  (bytes[at + 2] as number) * 0x1_0000 +
  (bytes[at + 1] as number) * 0x100 +
  (bytes[at] as number);

/** What a sampler is made from: plain data, so it crosses to a source thread with the other prepare options. */
export interface KeySampling {
  key: string[];
  keyAsText: boolean;
  format: ComparisonConfig['format'];
  rate: number;
}

/** The sampling of a comparison, or undefined when every key is sampled (rate 1: no cost per record) or left to DuckDB. */
export function keySampling(comparison: ComparisonConfig): KeySampling | undefined {
  if (samplingThreshold(comparison.sampling.rate) === undefined) return undefined;
  if (!keyReadAtSource(comparison)) return undefined;
  const { key, keyAsText, format } = comparison;
  return { key: [...key], keyAsText, format, rate: comparison.sampling.rate };
}

/**
 * `out`: the record's key is certainly valid and not sampled (SPEC §3), so the record is counted
 * `sampled_out` and dropped where the source runs. `in`: certainly sampled. `unsure`: DuckDB
 * decides, as it always did.
 */
export type SampleDecision = 'out' | 'in' | 'unsure';

/**
 * Decides sampling from one record before DuckDB, with the batch's hash: the first 8 bytes of the
 * MD5 of the canonical key without its tags, little-endian (DuckDB's `md5_number_upper`), below
 * the threshold. A record is `out` only when DuckDB would read the same key from it.
 */
export class KeySampler {
  /**
   * What `decide` reads: the Kafka record key; the value as it comes (JSON text, before any
   * decoding); or the decoded record (Avro: the key is inside the decoded document).
   */
  readonly reads: 'recordKey' | 'value' | 'decoded';
  readonly #asText: boolean;
  readonly #reader: KeyReader | undefined;
  /** The threshold's high and low 32 bits: compared as numbers, no BigInt per record. */
  readonly #high: number;
  readonly #low: number;

  constructor(sampling: KeySampling, threshold: bigint) {
    const byRecordKey = sampling.key.length === 1 && sampling.key[0] === KAFKA_KEY;
    this.reads = byRecordKey ? 'recordKey' : sampling.format === 'json' ? 'value' : 'decoded';
    this.#asText = sampling.keyAsText;
    this.#reader = byRecordKey ? undefined : new KeyReader(sampling.key.map(pathSegments), sampling.keyAsText);
    this.#high = Number(threshold >> 32n);
    this.#low = Number(threshold & 0xffff_ffffn);
  }

  /** From the Kafka record key (`reads: recordKey`) or the record's JSON text (otherwise). */
  decide(input: Buffer | string | null): SampleDecision {
    if (input === null) return 'unsure';
    return this.#reader ? this.#decideText(input) : this.#decideRecordKey(input);
  }

  /** The canonical key of a JSON text, tags included (as DuckDB's `k`), or undefined when unsure. */
  keyOf(text: Buffer | string): string | undefined {
    const bytes = this.#bytes(text);
    return bytes && this.#reader?.read(bytes);
  }

  /** A JSON text's UTF-8 bytes; undefined for Kafka values that are not UTF-8, which reach DuckDB as malformed only (`codec/json.ts`). */
  #bytes(text: Buffer | string): Buffer | undefined {
    if (typeof text === 'string') return Buffer.from(text);
    return isUtf8(text) ? text : undefined;
  }

  #decideText(text: Buffer | string): SampleDecision {
    const bytes = this.#bytes(text);
    const hashed = bytes && this.#reader?.hashed(bytes);
    return hashed === undefined ? 'unsure' : this.#decideHash(hashed);
  }

  /** As `nullif(record_key, '')`: the key as UTF-8 text; one holding the record separator travels as none. */
  #decideRecordKey(key: Buffer | string): SampleDecision {
    const bytes = typeof key === 'string' ? Buffer.from(key) : key;
    if (bytes.length === 0 || bytes.includes(RECORD_SEPARATOR_BYTE)) return 'unsure';
    if (isUtf8(bytes) && (this.#asText || !bytes.includes(TAG_BYTE))) return this.#decideHash(bytes);
    // Not UTF-8: DuckDB gets the text with U+FFFD in place of bad bytes, as here.
    const text = bytes.toString('utf8');
    return this.#decideHash(this.#asText ? text : keyLabel(text));
  }

  #decideHash(untagged: Buffer | string): SampleDecision {
    md5.init();
    md5.update(untagged);
    const digest = md5.digest('binary');
    const high = uint32LE(digest, 4);
    const low = uint32LE(digest, 0);
    return high > this.#high || (high === this.#high && low >= this.#low) ? 'out' : 'in';
  }
}

/** The sampler for `sampling`, or undefined when every key is sampled. */
export function keySampler(sampling: KeySampling | undefined): KeySampler | undefined {
  const threshold = sampling && samplingThreshold(sampling.rate);
  return sampling && threshold !== undefined ? new KeySampler(sampling, threshold) : undefined;
}
