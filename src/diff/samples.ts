import type { Side } from '../config/schema.js';
import type { DifferenceKind } from './compare.js';

export type SampleOutcome = 'different' | 'missing' | 'extra' | 'invalid';

/** Longest record text (characters) whose whole record a sample keeps: bounds a sample's size. */
export const PAIR_RECORD_CHARS = 16 * 1024;

/**
 * The whole record pair a difference came from, redacted as the sample is, so the explorer can show
 * both records after a restart; `fields` are all the field paths in which the pair differs. A
 * record longer than PAIR_RECORD_CHARS is not kept: then `omitted` says why.
 */
export interface RecordPair {
  live?: unknown;
  candidate?: unknown;
  fields: string[];
  omitted?: string;
}

export interface DiffSample {
  outcome: SampleOutcome;
  key?: string;
  /** Window start (ms since epoch) when records are windowed by event time. */
  window?: number;
  field?: string;
  kind?: DifferenceKind;
  side?: Side;
  reason?: string;
  live?: unknown;
  candidate?: unknown;
  /** Raw text of an undecodable record, truncated. */
  raw?: string;
  /** Source positions, e.g. `live.ndjson:12` or `orders.v2/3@1042`. */
  position?: Partial<Record<Side, string>>;
  /** A difference in a field the control side shows to be noise. */
  noise?: boolean;
  /** Of a difference: the whole records it came from. */
  pair?: RecordPair;
  /** The stored sample's id, for `GET …/samples/:sampleId` (the service's samples only). */
  id?: string;
}

/** A sample while it is collected: positions are still the engine's numbers. */
export interface PendingSample extends Omit<DiffSample, 'position'> {
  positions: Partial<Record<Side, number>>;
}

/** Keeps at most `limit` samples per (outcome, field) so a flood of one difference cannot crowd out the rest. */
export class SampleCollector {
  readonly #limit: number;
  readonly #groups = new Map<string, PendingSample[]>();

  constructor(limit: number) {
    this.#limit = limit;
  }

  wants(outcome: SampleOutcome, group = ''): boolean {
    return this.#limit > 0 && (this.#groups.get(`${outcome}\u0000${group}`)?.length ?? 0) < this.#limit;
  }

  /** Adds a sample to the group of its outcome and `group` (the field, or the side for invalid records). */
  add(sample: PendingSample, group = sample.field ?? ''): void {
    const key = `${sample.outcome}\u0000${group}`;
    const list = this.#groups.get(key) ?? [];
    if (list.length >= this.#limit) return;
    list.push(sample);
    this.#groups.set(key, list);
  }

  all(): PendingSample[] {
    return [...this.#groups.values()].flat();
  }
}
