import type { SettleYield } from '../diff/engine.js';

/** Below this share of differing pairs settled as typed rows, the next diffs skip that step. */
const WORTH_SHARE = 0.5;
/** A skipped step is tried again on one diff in this many: the data may have changed. */
const RETRY_EVERY = 8;

/**
 * Whether a comparison's window diffs compare the pairs whose texts differ as typed rows in DuckDB
 * first (`DiffTuning.settle`), for one pair of sides. That step parses every such pair again in
 * DuckDB (~40 µs of CPU per pair of the shipped default, more than the field-by-field pass takes
 * for it), and pays only for the pairs it settles: where a field differs on every record (a
 * processing time, a run id), it settles none and the field-by-field pass takes them all anyway.
 * The results are the same either way; only the cost differs.
 */
export class SettleChoice {
  #worth = true;
  #skipped = 0;

  /** Whether the next diff settles in DuckDB. */
  next(): boolean {
    if (this.#worth) return true;
    this.#skipped++;
    return this.#skipped >= RETRY_EVERY;
  }

  /** What a diff's settle found. */
  observe(settle: SettleYield): void {
    if (!settle.tried || settle.pending === 0) return;
    this.#worth = settle.settled >= WORTH_SHARE * settle.pending;
    this.#skipped = 0;
  }
}
