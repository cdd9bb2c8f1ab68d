import type { DuckDBConnection } from '@duckdb/node-api';
import type { Logger } from 'pino';
import type { OpenFrom } from '../align/ingest.js';
import type { WatermarkTracker } from '../align/watermarks.js';
import type { ScopeConfig, Side } from '../config/schema.js';
import { outsideStatus, partitionInScope, scopePartitions } from '../diff/scope.js';
import type { ShadowdiffMetrics } from '../metrics/metrics.js';
import type { LogGap, PreparedSource } from '../sources/source.js';
import type { BufferWriter } from '../store/buffer-writer.js';
import type { Checkpoint, ReplayEnd, StoredPosition } from './checkpoint.js';
import type { PendingBatch } from './pending-batches.js';

/** What the intake needs of its runner. */
export interface IntakeContext {
  comparison: string;
  /** The comparison's scope: what records outside it count as, and which partitions hold the watermarks. */
  scope: ScopeConfig | undefined;
  checkpoint: Checkpoint;
  writer: BufferWriter;
  watermarks: WatermarkTracker;
  metrics: ShadowdiffMetrics;
  logger: Logger;
  /** One connection per side: the sides' batches are buffered in parallel. */
  connections: ReadonlyMap<Side, DuckDBConnection>;
  /** Stores checkpoints; no buffering happens on it. */
  store: DuckDBConnection;
  sources: ReadonlyMap<Side, PreparedSource>;
  epoch(): number;
  /** Which windows take no more records now. */
  open(): OpenFrom;
}

/**
 * Where batches become counts: buffers each batch of a side (`BufferWriter`), takes its counts,
 * positions and dead letters into the comparison's checkpoint, moves the watermarks, ends the
 * replays of a restart and counts what the logs lost; and stores the checkpoint, after which the
 * sources may commit what no open window needs.
 */
export class Intake {
  readonly #ctx: IntakeContext;
  /** Records this intake counted lost, in any epoch: only ever grows. */
  #lostCounted = 0;
  #storedAt = 0;

  constructor(ctx: IntakeContext) {
    this.#ctx = ctx;
  }

  get lostCounted(): number {
    return this.#lostCounted;
  }

  /** When the checkpoint was last stored (ms since the epoch), 0 before. */
  get storedAt(): number {
    return this.#storedAt;
  }

  /** Buffers one batch of one side and takes its counts into the next checkpoint. */
  async buffer(side: Side, batch: PendingBatch): Promise<void> {
    const { checkpoint, metrics, comparison } = this.#ctx;
    const result = await this.#ctx.writer.write(this.#ctx.connections.get(side) as DuckDBConnection, {
      comparison,
      side,
      open: this.#ctx.open(),
      partitions: batch.partitions,
      deadLetterLimit: Math.max(0, checkpoint.deadLetterRoom(side) - batch.deadLetters.length),
    });
    const epoch = this.#ctx.epoch();
    for (const [status, n] of result.counts) checkpoint.count(epoch, side, status, n);
    let invalidBefore = 0;
    for (const n of batch.invalid.values()) invalidBefore += n;
    checkpoint.count(epoch, side, 'invalid', invalidBefore);
    checkpoint.count(epoch, side, 'sampled_out', batch.sampledOut);
    // Records of partitions outside the scope, dropped before DuckDB: counted as the statement counts the rest.
    const outside = outsideStatus(this.#ctx.scope, side);
    checkpoint.count(epoch, side, outside, batch.outOfScope);
    checkpoint.deadLetters(side, [...batch.deadLetters, ...result.deadLetters]);
    const ended = checkpoint.buffered(side, batch.positions, result);
    // A partition whose records were all dropped before DuckDB (unsampled keys, undecodable) gave no
    // event time: it is not kept from turning idle, so it cannot hold the watermark back for ever.
    const packed = new Set(batch.partitions.map((partition) => partition.source));
    const partitions = scopePartitions(this.#ctx.scope, side);
    for (const partition of batch.positions.keys()) {
      if (!partitionInScope(partitions, partition)) continue;
      const maxEventTime = result.maxEventTimes.get(partition);
      if (maxEventTime !== undefined) this.#ctx.watermarks.observe(side, partition, maxEventTime);
      else if (packed.has(partition)) this.#ctx.watermarks.touch(side, partition);
    }
    this.replayEnded(ended);
    this.#ctx.logger.debug(
      { comparison, side, records: batch.records, counts: Object.fromEntries(result.counts) },
      'batch buffered',
    );
    for (const status of ['sampled_out', 'late', 'out_of_scope', 'unexpected'] as const) {
      const before = (status === outside ? batch.outOfScope : 0) + (status === 'sampled_out' ? batch.sampledOut : 0);
      metrics.addRecords(comparison, side, status, (result.counts.get(status) ?? 0) + before);
    }
    metrics.addRecords(comparison, side, 'invalid', (result.counts.get('invalid') ?? 0) + invalidBefore);
    for (const [reason, n] of [...batch.invalid, ...result.invalidReasons]) {
      metrics.addDecodeErrors(comparison, side, reason, n);
    }
  }

  /** Takes the stored checkpoint back: where each partition resumes, and which replays end at once. */
  restore(positions: readonly StoredPosition[]): void {
    // Every partition of the checkpoint holds its side's watermark until it delivers (or turns idle):
    // else those with nothing to replay, whose latest event time is known at once, would move it past
    // open windows that the others have yet to replay while their source still connects.
    // Partitions outside the scope are not tracked: they would hold the watermark for an idle timeout.
    const inScope = (p: { side: Side; source: string }) =>
      partitionInScope(scopePartitions(this.#ctx.scope, p.side), p.source);
    for (const p of positions.filter(inScope)) this.#ctx.watermarks.register(p.side, p.source);
    this.replayEnded(this.#ctx.checkpoint.restore(positions).filter(inScope));
  }

  /**
   * Partitions whose replay after a restart has ended: their watermark may take the latest event
   * time the checkpoint had seen, and counted records of open windows that never came back (the
   * log lost them) move from buffered to lost.
   */
  replayEnded(ended: ReplayEnd[]): void {
    for (const end of ended) {
      if (end.maxEventTime !== null) this.#ctx.watermarks.observe(end.side, end.source, end.maxEventTime);
      if (end.missing > 0) {
        this.#ctx.checkpoint.count(this.#ctx.epoch(), end.side, 'buffered', -end.missing);
        this.#count(end.side, end.source, end.missing, 'counted records of open windows');
      }
    }
  }

  /** Positions a source resumed past because its log no longer has them: records lost, counted once. */
  lostFromLog(side: Side, gaps: LogGap[]): void {
    const partitions = scopePartitions(this.#ctx.scope, side);
    for (const gap of gaps) {
      const { uncounted, ended } = this.#ctx.checkpoint.lostFromLog(side, gap.source, gap.from, gap.to);
      // Records of a partition outside the scope were never going to be compared: not evidence lost.
      if (!partitionInScope(partitions, gap.source)) {
        this.#ctx.checkpoint.count(this.#ctx.epoch(), side, outsideStatus(this.#ctx.scope, side), uncounted);
      } else if (uncounted > 0) this.#count(side, gap.source, uncounted, 'records never counted');
      if (ended) this.replayEnded([ended]);
    }
  }

  /** Stores the checkpoint (with `statements`), then lets each source commit what no open window needs. */
  async store(statements: string[]): Promise<void> {
    const { checkpoint, comparison, logger } = this.#ctx;
    logger.debug({ comparison, statements: statements.length }, 'storing checkpoint');
    const committed = await checkpoint.commit(this.#ctx.store, this.#ctx.open(), statements);
    this.#storedAt = Date.now();
    await Promise.all(
      [...this.#ctx.sources].map(([side, source]) =>
        source.commit(committed.get(side) ?? new Map()).catch((error) => {
          // Only lag tools read the group's offsets: a restart resumes from the checkpoint.
          logger.warn({ err: error, comparison, side }, 'offsets not committed');
        }),
      ),
    );
  }

  #count(side: Side, source: string, n: number, what: string): void {
    const { comparison } = this.#ctx;
    this.#ctx.checkpoint.count(this.#ctx.epoch(), side, 'lost', n);
    this.#lostCounted += n;
    this.#ctx.metrics.addRecords(comparison, side, 'lost', n);
    this.#ctx.logger.warn(
      { comparison, side, source, lost: n },
      `the log no longer has ${n} ${what} (retention deleted them before a checkpoint let them go): counted lost`,
    );
  }
}
