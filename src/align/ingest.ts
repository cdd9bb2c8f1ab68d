import { durationMs } from '../config/duration.js';
import type { ComparisonConfig } from '../config/schema.js';
import { pathSegments } from '../diff/paths.js';
import { canonicalKey, isSampled, samplingThreshold } from './keys.js';
import { eventTimeMs } from './time.js';
import { windowStart } from './windows.js';

/** `key: ["$kafkaKey"]` keys records by their Kafka record key. */
export const KAFKA_KEY = '$kafkaKey';

export type Classified =
  | { status: 'accepted'; key: string; window: number; eventTime: number; doc: string }
  | { status: 'sampled_out' | 'late'; eventTime: number }
  | { status: 'invalid'; reason: string; eventTime?: number };

export interface IngestRules {
  /** Assigns a decoded record its status, key, event time and window. */
  classify(
    doc: string,
    recordKey: Buffer | null,
    recordTimestamp: number,
    closedThrough: number | null,
    parsed?: Record<string, unknown>,
  ): Classified;
  readonly windowMs: number;
  readonly latenessMs: number;
}

function valueAt(record: unknown, segments: readonly string[]): unknown {
  let value = record;
  for (const segment of segments) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
    value = (value as Record<string, unknown>)[segment];
  }
  return value;
}

/**
 * The streaming side of SPEC §3: keys, event time, sampling before any buffering, windows, and
 * lateness. A record for a window that already closed (its end plus the allowed lateness is at or
 * before `closedThrough`) is late: counted, never buffered.
 */
export function ingestRules(comparison: ComparisonConfig): IngestRules {
  const windowMs = durationMs(comparison.window.size);
  const latenessMs = durationMs(comparison.window.allowedLateness);
  const keyPaths = comparison.key.map(pathSegments);
  const byKafkaKey = comparison.key.length === 1 && comparison.key[0] === KAFKA_KEY;
  const threshold = samplingThreshold(comparison.sampling.rate);
  const time = comparison.time;
  const timePath = time && 'field' in time ? pathSegments(time.field) : undefined;
  const unit = time && 'field' in time ? time.unit : 'ms';
  return {
    windowMs,
    latenessMs,
    classify(doc, recordKey, recordTimestamp, closedThrough, parsed) {
      let record: unknown = parsed;
      if (record === undefined) {
        try {
          record = JSON.parse(doc);
        } catch {
          return { status: 'invalid', reason: 'malformed' };
        }
      }
      if (record === null || typeof record !== 'object' || Array.isArray(record)) {
        return { status: 'invalid', reason: 'not_object' };
      }
      const key = byKafkaKey
        ? recordKey && recordKey.length > 0
          ? recordKey.toString('utf8')
          : undefined
        : canonicalKey(keyPaths.map((segments) => valueAt(record, segments)));
      if (key === undefined) return { status: 'invalid', reason: 'missing_key' };
      const eventTime = timePath ? eventTimeMs(valueAt(record, timePath), unit) : recordTimestamp;
      if (eventTime === undefined) return { status: 'invalid', reason: 'missing_time' };
      if (!isSampled(key, threshold)) return { status: 'sampled_out', eventTime };
      const window = windowStart(eventTime, windowMs);
      if (closedThrough !== null && window + windowMs + latenessMs <= closedThrough)
        return { status: 'late', eventTime };
      return { status: 'accepted', key, window, eventTime, doc };
    },
  };
}
