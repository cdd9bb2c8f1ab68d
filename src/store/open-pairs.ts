import type { Side } from '../config/schema.js';
import { EventLoopSlices } from '../slices.js';

/** A record keyed where its source ran, held in memory while its window is open. */
export interface HeldRecord {
  side: Side;
  w: number;
  k: string;
  /** Its batch's copy of the texts, where its JSON text is `texts[start, end)`: no object per text. */
  texts: Buffer;
  start: number;
  end: number;
  /** Arrival order for the duplicates rule, as in the buffer table. */
  seq: number;
  source: string;
  position: number;
  eventTime: number;
  /** Counted before a restart and read again from the log. */
  replay: boolean;
}

/**
 * Texts of keyed records held in memory per comparison; past it the oldest open windows go to the
 * buffer table, which spills to disk under `storage.memoryLimit` (a side far ahead of another).
 */
export const HELD_BYTES = 256 * 1024 * 1024;

/** How many records `take` handles between looks at the event loop. */
const SLICE_RECORDS = 512;

/** The records of one key in a closing window: at most one per side until a second one comes. */
interface KeySlot {
  live?: HeldRecord;
  candidate?: HeldRecord;
  control?: HeldRecord;
  /** Set once a side brings the key twice: the duplicates rule is the diff engine's. */
  more?: HeldRecord[];
}

/** What closing windows takes from the held records. */
export interface TakenWindows {
  /** Per window, the keys with one byte-identical record on every side: equal, with no diff to run. */
  settled: Map<number, number>;
  /** Every other held record of the windows, for the diff engine. */
  rest: HeldRecord[];
}

export interface OpenPairsOptions {
  sides: readonly Side[];
  /** Cluster mode: a key must come on the same partition number on every side to settle here. */
  samePartition: boolean;
  /** Past this many bytes of held texts, the oldest windows go to the buffer table, which can spill to disk. */
  maxBytes: number;
}

/**
 * The keyed records of open windows, held in memory by window, so that closing a window
 * settles the keys whose records are byte for byte the same on every side in JavaScript, and only
 * the rest — differing, missing, extra, duplicated — reaches DuckDB's diff engine. Byte-identical
 * texts are equal under any rule, exactly as the engine's text hash finds them. Like the buffer
 * table, this is a cache of what the source logs keep: a restart rebuilds it from the log.
 */
export class OpenPairs {
  readonly #options: OpenPairsOptions;
  /** In arrival order; grouped by key only when the window closes, so holding allocates nothing per key. */
  readonly #windows = new Map<number, HeldRecord[]>();
  /** Windows whose records go to the buffer table instead, once held texts grew past `maxBytes`. */
  readonly #spilled = new Set<number>();
  #bytes = 0;

  constructor(options: OpenPairsOptions) {
    this.#options = options;
  }

  /** Held text bytes, over every window. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Whether window `w` holds records here. */
  holds(w: number): boolean {
    return this.#windows.has(w);
  }

  /**
   * Holds a record; returns false, holding nothing, when its window spilled to the buffer table
   * (the caller writes the record there).
   */
  hold(record: HeldRecord): boolean {
    if (this.#spilled.has(record.w)) return false;
    const records = this.#windows.get(record.w);
    if (records) records.push(record);
    else this.#windows.set(record.w, [record]);
    this.#bytes += record.end - record.start;
    return true;
  }

  /** While held texts exceed the bound, the oldest window's records, to write to the buffer table from now on. */
  spillOverflow(): HeldRecord[] {
    let spilled: HeldRecord[] = [];
    while (this.#bytes > this.#options.maxBytes && this.#windows.size > 0) {
      const oldest = Math.min(...this.#windows.keys());
      this.#spilled.add(oldest);
      // concat, not push(...): a window may hold more records than a call takes arguments.
      spilled = spilled.concat(this.#drain(oldest));
    }
    return spilled;
  }

  /**
   * Takes the held records of closing windows: settles the keys every side brought once with the
   * same text (and, in cluster mode, on the same partition number), and returns the rest.
   * `contested` lists keys of the windows (`contestKey`) that also have records in the buffer
   * table (keyed by DuckDB): those keys go to the engine whole. In slices of the event loop: a
   * closer far behind takes hundreds of thousands of records at once.
   */
  async take(windows: readonly number[], contested: ReadonlySet<string>): Promise<TakenWindows> {
    const settled = new Map<number, number>();
    const rest: HeldRecord[] = [];
    const slices = new EventLoopSlices();
    for (const w of windows) {
      this.#spilled.delete(w);
      const slots = new Map<string, KeySlot>();
      const records = this.#drain(w);
      for (let i = 0; i < records.length; i++) {
        if (i % SLICE_RECORDS === 0) await slices.pause();
        const record = records[i] as HeldRecord;
        let slot = slots.get(record.k);
        if (!slot) {
          slot = {};
          slots.set(record.k, slot);
        }
        if (slot.more) slot.more.push(record);
        else if (slot[record.side] === undefined) slot[record.side] = record;
        else slot.more = [record];
      }
      let equal = 0;
      await slices.pause();
      for (const [k, slot] of slots) {
        if (this.#settles(slot) && !contested.has(contestKey(w, k))) equal++;
        else for (const record of recordsOf(slot)) rest.push(record);
      }
      if (equal > 0) settled.set(w, equal);
    }
    return { settled, rest };
  }

  /** Forgets the windows starting before `before` (expired: their records were counted late). */
  dropBefore(before: number): void {
    for (const w of [...this.#windows.keys()]) if (w < before) this.#drain(w);
    for (const w of [...this.#spilled]) if (w < before) this.#spilled.delete(w);
  }

  #drain(w: number): HeldRecord[] {
    const records = this.#windows.get(w) ?? [];
    this.#windows.delete(w);
    for (const record of records) this.#bytes -= record.end - record.start;
    return records;
  }

  #settles(slot: KeySlot): boolean {
    if (slot.more) return false;
    const live = slot.live;
    if (!live) return false;
    for (const side of this.#options.sides) {
      if (side === 'live') continue;
      const other = slot[side];
      if (!other || !sameText(live, other)) return false;
      if (this.#options.samePartition && partitionOf(other.source) !== partitionOf(live.source)) return false;
    }
    return true;
  }
}

/** A held record's JSON text. */
export function heldText(record: HeldRecord): Buffer {
  return record.texts.subarray(record.start, record.end);
}

function sameText(a: HeldRecord, b: HeldRecord): boolean {
  return a.texts.compare(b.texts, b.start, b.end, a.start, a.end) === 0;
}

/** How `take` names a key of a window in `contested`. */
export function contestKey(w: number | bigint, k: string): string {
  return `${w}/${k}`;
}

function recordsOf(slot: KeySlot): HeldRecord[] {
  const records: HeldRecord[] = [];
  if (slot.live) records.push(slot.live);
  if (slot.candidate) records.push(slot.candidate);
  if (slot.control) records.push(slot.control);
  // A key may come thousands of times (a pipeline writing one key): more than a call takes arguments.
  return slot.more ? records.concat(slot.more) : records;
}

/** A Kafka source is `topic/partition`. */
function partitionOf(source: string): string {
  return source.slice(source.lastIndexOf('/') + 1);
}
