import type { DuckDBConnection } from '@duckdb/node-api';
import type { DeadLetter } from '../align/prepare.js';
import type { Side } from '../config/schema.js';
import { literal } from '../diff/sql.js';
import type { StartPositions } from '../sources/source.js';
import type { BufferResult } from '../store/buffer-writer.js';
import { inTransaction } from '../store/duckdb.js';
import { addCountsSql, type CountDelta } from '../store/schema.js';

/** Dead letters kept per side between two checkpoints: enough to show why records were invalid. */
export const DEAD_LETTERS_PER_CHECKPOINT = 20;

/** What a partition's open windows hold: their first position and how many records. */
interface OpenRun {
  first: number;
  n: number;
}

/** A partition re-read from its stored resume position after a restart, until it passes counted-through. */
interface Replay {
  from: number;
  through: number;
  /** Counted records the stored checkpoint had in open windows: all come back unless the log lost them. */
  expected: number;
  rebuffered: number;
}

interface PartitionState {
  /** Every record at or before this position is in some count. */
  countedThrough: number;
  maxEventTime: number | null;
  /** Per open window with records of this partition. */
  windows: Map<number, OpenRun>;
  replay?: Replay;
}

/** A partition whose replay ended: `missing` counted records of open windows never came back (the log lost them). */
export interface ReplayEnd {
  side: Side;
  source: string;
  missing: number;
  /** The latest event time the stored checkpoint had seen in it: the watermark may have it now. */
  maxEventTime: number | null;
}

/** A partition's stored checkpoint, as a restart reads it. */
export interface StoredPosition {
  side: Side;
  source: string;
  countedThrough: number;
  resume: number;
  buffered: number;
  maxEventTime: number | null;
}

/**
 * Everything of a comparison that must be durable and that the logs cannot give back (issue "the
 * log is the buffer"): status counts, dead letters, and per source partition the counted-through
 * position, the resume position (the first record an open window still needs) and how many
 * counted records sit in open windows. It gathers in memory as batches are buffered and windows
 * close, and is stored in one transaction, with the results of the windows closed since, by
 * `commit`: never per batch of records.
 */
export class Checkpoint {
  readonly #comparison: string;
  readonly #partitions = new Map<Side, Map<string, PartitionState>>();
  /** Count deltas not stored yet, by epoch, side and status. */
  readonly #deltas = new Map<string, CountDelta>();
  readonly #deadLetters = new Map<Side, DeadLetter[]>();
  #dirty = false;
  /** Moves when a commit starts and when it ends: a read of counts spanning a move mixed two states. */
  #generation = 0;
  #commitsInFlight = 0;
  #whenIdle: (() => void)[] = [];

  constructor(comparison: string, sides: readonly Side[]) {
    this.#comparison = comparison;
    for (const side of sides) this.#partitions.set(side, new Map());
  }

  /**
   * Takes the partitions of a stored checkpoint: their open windows are rebuilt as replays come.
   * Returns the partitions with nothing to replay, whose replay has ended already.
   */
  restore(positions: readonly StoredPosition[]): ReplayEnd[] {
    const ended: ReplayEnd[] = [];
    for (const p of positions) {
      const state: PartitionState = {
        countedThrough: p.countedThrough,
        maxEventTime: p.maxEventTime,
        windows: new Map(),
      };
      if (p.resume <= p.countedThrough) {
        state.replay = { from: p.resume, through: p.countedThrough, expected: p.buffered, rebuffered: 0 };
      } else ended.push({ side: p.side, source: p.source, missing: 0, maxEventTime: p.maxEventTime });
      this.#partitions.get(p.side)?.set(p.source, state);
    }
    return ended;
  }

  /**
   * Where each partition of a side starts reading (after the last position no open window needs),
   * and up to where its records are replays.
   */
  startPositions(side: Side): StartPositions {
    const skipThrough = new Map<string, number>();
    const countedThrough = new Map<string, number>();
    for (const [source, state] of this.#partitions.get(side) ?? []) {
      skipThrough.set(source, this.#resume(state) - 1);
      countedThrough.set(source, state.countedThrough);
    }
    return { skipThrough, countedThrough };
  }

  /** Something changed since the last commit. */
  get dirty(): boolean {
    return this.#dirty;
  }

  /** Adds counts of the epoch (negative to move records out of a status). */
  count(epoch: number, side: Side, status: string, n: number): void {
    if (n === 0) return;
    const key = `${epoch}\u001f${side}\u001f${status}`;
    const delta = this.#deltas.get(key);
    if (delta) delta.n += n;
    else this.#deltas.set(key, { comparison: this.#comparison, epoch, side, status, n });
    this.#dirty = true;
  }

  /** The count deltas of an epoch not stored yet: what a summary adds to the stored counts. */
  pendingCounts(epoch: number): CountDelta[] {
    return [...this.#deltas.values()].filter((delta) => delta.epoch === epoch);
  }

  /**
   * Reads stored counts (`read`, given the counts not stored yet) as of one state: a commit moves
   * counts from memory to storage, so a read across it finds them in both or in neither (a verdict
   * once said 250 records lost of 350). Waits out commits in flight, and reads again when one
   * started meanwhile.
   */
  async readCounts<T>(epoch: number, read: (pending: CountDelta[]) => Promise<T>): Promise<T> {
    for (;;) {
      while (this.#commitsInFlight > 0) await new Promise<void>((resolve) => this.#whenIdle.push(resolve));
      const generation = this.#generation;
      const result = await read(this.pendingCounts(epoch));
      if (generation === this.#generation) return result;
    }
  }

  /** Keeps dead letters of a side, up to the bound per checkpoint. */
  deadLetters(side: Side, letters: readonly DeadLetter[]): void {
    const kept = this.#deadLetters.get(side) ?? [];
    const room = DEAD_LETTERS_PER_CHECKPOINT - kept.length;
    if (room <= 0 || letters.length === 0) return;
    kept.push(...letters.slice(0, room));
    this.#deadLetters.set(side, kept);
    this.#dirty = true;
  }

  /** Room for dead letters of a side until the next commit. */
  deadLetterRoom(side: Side): number {
    return DEAD_LETTERS_PER_CHECKPOINT - (this.#deadLetters.get(side)?.length ?? 0);
  }

  /**
   * A batch of a side is buffered: its partitions are counted through `positions`, its open-window
   * runs recorded. Returns the replays it ended.
   */
  buffered(side: Side, positions: ReadonlyMap<string, number>, result: BufferResult): ReplayEnd[] {
    const partitions = this.#partitions.get(side) as Map<string, PartitionState>;
    for (const run of result.buffered) {
      const replay = partitions.get(run.source)?.replay;
      if (replay) replay.rebuffered += run.replays;
    }
    for (const [source, position] of positions) {
      const state = partitions.get(source);
      const maxEventTime = result.maxEventTimes.get(source) ?? null;
      if (!state) {
        partitions.set(source, { countedThrough: position, maxEventTime, windows: new Map() });
        continue;
      }
      state.countedThrough = Math.max(state.countedThrough, position);
      if (maxEventTime !== null) state.maxEventTime = Math.max(state.maxEventTime ?? maxEventTime, maxEventTime);
    }
    for (const run of result.buffered) {
      const windows = partitions.get(run.source)?.windows;
      if (!windows) continue;
      const open = windows.get(run.w);
      if (open) {
        open.first = Math.min(open.first, run.first);
        open.n += run.n;
      } else windows.set(run.w, { first: run.first, n: run.n });
    }
    this.#dirty = true;
    const ended: ReplayEnd[] = [];
    for (const [source, position] of positions) {
      const state = partitions.get(source) as PartitionState;
      if (state.replay && position >= state.replay.through) ended.push(this.#endReplay(side, source, state));
    }
    return ended;
  }

  /**
   * The log no longer has positions [from, to) of a partition (retention deleted them): returns how
   * many of them were never counted, now counted through, and the replay this ends, if any.
   */
  lostFromLog(side: Side, source: string, from: number, to: number): { uncounted: number; ended?: ReplayEnd } {
    const state = this.#partitions.get(side)?.get(source);
    if (!state) return { uncounted: to - from };
    const uncounted = Math.max(0, to - Math.max(from, state.countedThrough + 1));
    state.countedThrough = Math.max(state.countedThrough, to - 1);
    this.#dirty = true;
    if (state.replay && to > state.replay.through) return { uncounted, ended: this.#endReplay(side, source, state) };
    return { uncounted };
  }

  #endReplay(side: Side, source: string, state: PartitionState): ReplayEnd {
    const replay = state.replay as Replay;
    state.replay = undefined;
    this.#dirty = true;
    return {
      side,
      source,
      missing: Math.max(0, replay.expected - replay.rebuffered),
      maxEventTime: state.maxEventTime,
    };
  }

  /** Windows that hold buffered records, oldest first. */
  openWindows(): number[] {
    const windows = new Set<number>();
    for (const partitions of this.#partitions.values()) {
      for (const state of partitions.values()) for (const w of state.windows.keys()) windows.add(w);
    }
    return [...windows].sort((a, b) => a - b);
  }

  /** Per side, its buffered records in window `w`, as one text (`live:n,…`): it changes whenever records join `w`. */
  bufferedIn(w: number): string {
    const parts: string[] = [];
    for (const [side, partitions] of this.#partitions) {
      let n = 0;
      for (const state of partitions.values()) n += state.windows.get(w)?.n ?? 0;
      if (n > 0) parts.push(`${side}:${n}`);
    }
    return parts.join(',');
  }

  /** Windows whose buffers were diffed and are stored by the next commit: nothing needs their records any more. */
  forget(windows: readonly number[]): void {
    for (const partitions of this.#partitions.values()) {
      for (const state of partitions.values()) for (const w of windows) state.windows.delete(w);
    }
    this.#dirty = true;
  }

  /** Forgets the windows starting before `before`; returns how many buffered records each side had in them. */
  forgetBefore(before: number): Map<Side, number> {
    const expired = new Map<Side, number>();
    for (const [side, partitions] of this.#partitions) {
      for (const state of partitions.values()) {
        for (const [w, run] of state.windows) {
          if (w >= before) continue;
          expired.set(side, (expired.get(side) ?? 0) + run.n);
          state.windows.delete(w);
        }
      }
    }
    if (expired.size > 0) this.#dirty = true;
    return expired;
  }

  /** Records of a partition counted and buffered in its open windows. */
  bufferedCount(side: Side, source: string): number {
    let n = 0;
    for (const run of this.#partitions.get(side)?.get(source)?.windows.values() ?? []) n += run.n;
    return n;
  }

  /**
   * Stores the checkpoint, and `statements` (closed windows' results) with it, in one transaction
   * on `connection`; what gathers meanwhile goes into the next one. Returns, per side, the last
   * position of each partition that no open window needs: what the source may commit to its log.
   */
  async commit(
    connection: DuckDBConnection,
    open: { closedThrough: number | null; expiredBefore: number | null },
    statements: readonly string[] = [],
  ): Promise<Map<Side, Map<string, number>>> {
    const id = literal(this.#comparison);
    const all = [...statements];
    const deltas = [...this.#deltas.values()].filter((delta) => delta.n !== 0);
    this.#deltas.clear();
    if (deltas.length > 0) all.push(addCountsSql(deltas));
    const letters = [...this.#deadLetters].flatMap(([side, kept]) =>
      kept.map(
        (letter) =>
          `(${id}, ${literal(side)}, ${literal(letter.source)}, ${letter.position}, ${literal(letter.reason)},
            ${letter.raw === null ? 'NULL' : literal(letter.raw)}, now())`,
      ),
    );
    this.#deadLetters.clear();
    if (letters.length > 0) all.push(`INSERT INTO dead_letters VALUES ${letters.join(', ')}`);
    const committed = new Map<Side, Map<string, number>>();
    const rows: string[] = [];
    for (const [side, partitions] of this.#partitions) {
      const sideCommitted = new Map<string, number>();
      committed.set(side, sideCommitted);
      for (const [source, state] of partitions) {
        const resume = this.#resume(state);
        sideCommitted.set(source, resume - 1);
        rows.push(
          `(${id}, ${literal(side)}, ${literal(source)}, ${state.countedThrough}, ${state.maxEventTime ?? 'NULL'},
            ${resume}, ${this.bufferedCount(side, source)})`,
        );
      }
    }
    if (rows.length > 0) all.push(`INSERT OR REPLACE INTO positions VALUES ${rows.join(', ')}`);
    const sql = (value: number | null) => (value === null ? 'NULL' : String(value));
    all.push(
      `UPDATE comparisons SET closed_through = ${sql(open.closedThrough)}, expired_before = ${sql(open.expiredBefore)}
       WHERE id = ${id}`,
    );
    this.#dirty = false;
    this.#generation++;
    this.#commitsInFlight++;
    try {
      await inTransaction(connection, async () => {
        for (const statement of all) await connection.run(statement);
      });
    } finally {
      this.#generation++;
      if (--this.#commitsInFlight === 0) for (const resolve of this.#whenIdle.splice(0)) resolve();
    }
    return committed;
  }

  #resume(state: PartitionState): number {
    // Until its replay ends, a partition's open windows are not all rebuilt: it resumes where it did.
    let resume = state.replay ? state.replay.from : state.countedThrough + 1;
    for (const run of state.windows.values()) resume = Math.min(resume, run.first);
    return resume;
  }
}
