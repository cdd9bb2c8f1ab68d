import { setTimeout as sleep } from 'node:timers/promises';
import type { DurablePositions, LogGap, RawRecord, RecordHandler, RecordSource } from '../source.js';
import type { KafkaClient, KafkaConsumer, PartitionRange } from './client.js';

export interface KafkaSourceOptions {
  topic: string;
  groupId: string;
  fromBeginning: boolean;
  onCrash?: (error: Error) => void;
  /** A start that failed (broker unreachable, topic missing); the next try follows after `retryInMs`. */
  onConnectError?: (error: Error, retryInMs: number) => void;
  /** How long records must stay in the log for a restart to rebuild open windows: window plus lateness. */
  neededMs?: number;
  /** The topic keeps records for less than `neededMs`: a restart may find records of open windows gone. */
  onShortRetention?: (retentionMs: number) => void;
}

/** Tries to start again after 0.5 s, doubling up to 10 s: a broker that comes back is found soon, one that stays away is not hammered. */
const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 10_000;

/** One side's Kafka topic: manual commits of durable offsets, pause/resume for backpressure, lag. */
export class KafkaSource implements RecordSource {
  readonly decoded = false;
  readonly #client: KafkaClient;
  readonly #options: KafkaSourceOptions;
  #consumer: KafkaConsumer | undefined;
  #connected = false;
  #paused = false;
  #running = false;
  /** Why the last try to start failed; null once started. */
  #lastError: string | null = null;
  /** Tries to start until it has, or until stop(); stop() cuts its waits short. */
  #starting: Promise<void> | undefined;
  readonly #stopped = new AbortController();
  /** Per partition: the broker's high watermark and the next offset to deliver, for the backlog. */
  readonly #highWatermarks = new Map<number, number>();
  readonly #nextOffsets = new Map<number, number>();
  #partitions: string[] = [];

  constructor(client: KafkaClient, options: KafkaSourceOptions) {
    this.#client = client;
    this.#options = options;
  }

  partitionName(partition: number): string {
    return `${this.#options.topic}/${partition}`;
  }

  /**
   * Resolves at once: connecting, subscribing and reading the partitions are tried in the
   * background until they succeed, with backoff, so an unreachable broker or a missing topic holds
   * up nothing else (the service serves HTTP, other comparisons run). Meanwhile the source is not
   * connected and `lastError()` says why.
   */
  async start(handler: RecordHandler, durable: DurablePositions): Promise<void> {
    this.#running = true;
    this.#starting = this.#startUntilStarted(handler, durable);
  }

  async #startUntilStarted(handler: RecordHandler, durable: DurablePositions): Promise<void> {
    for (let retryInMs = FIRST_RETRY_MS; this.#running; retryInMs = Math.min(MAX_RETRY_MS, retryInMs * 2)) {
      try {
        await this.#tryStart(handler, durable);
        this.#lastError = null;
        return;
      } catch (error) {
        if (!this.#running) return;
        this.#lastError = (error as Error).message ?? String(error);
        this.#options.onConnectError?.(error as Error, retryInMs);
        await sleep(retryInMs, undefined, { signal: this.#stopped.signal }).catch(() => {});
      }
    }
  }

  /**
   * Where each partition resumes is decided by the stored checkpoint, not by the group's
   * committed offsets: commits follow the checkpoint and are only a courtesy to lag monitors. A
   * partition with no stored position starts at its oldest record (fromBeginning) or where the
   * group left it. So a commit lost in a crash, or offsets reset by hand, never skip a record.
   */
  async #tryStart(handler: RecordHandler, durable: DurablePositions): Promise<void> {
    const { topic } = this.#options;
    const consumer = await this.#client.connectConsumer({
      groupId: this.#options.groupId,
      onCrash: (error) => {
        this.#connected = false;
        this.#options.onCrash?.(error);
      },
    });
    let ranges: PartitionRange[];
    try {
      if (!this.#running) throw new Error('stopped while starting');
      // Said plainly: kafkajs' own answer is 'This server does not host this topic-partition'.
      if (!(await consumer.topicExists(topic))) throw new Error(`topic ${topic} does not exist`);
      const { neededMs, onShortRetention } = this.#options;
      if (neededMs !== undefined && onShortRetention) {
        const retention = await consumer.retentionMs(topic).catch(() => null);
        if (retention !== null && retention >= 0 && retention < neededMs) onShortRetention(retention);
      }
      await consumer.subscribe([topic], { fromBeginning: this.#options.fromBeginning });
      ranges = await consumer.offsetRanges(topic);
    } catch (error) {
      await consumer.disconnect().catch(() => {});
      throw error;
    }
    this.#consumer = consumer;
    this.#partitions = ranges.map((range) => this.partitionName(range.partition));
    for (const range of ranges) this.#highWatermarks.set(range.partition, Number(range.high));
    const startAt = ranges.flatMap(({ partition, low }) => {
      const last = durable.get(this.partitionName(partition));
      const next = last !== undefined ? String(last + 1) : this.#options.fromBeginning ? low : undefined;
      return next === undefined ? [] : [{ topic, partition, offset: next }];
    });
    // Where the log no longer has what a partition resumes at (retention deleted it), the records
    // are lost: told to the handler once, with nothing delivered, before any of its records.
    const gaps: LogGap[] = ranges.flatMap(({ partition, low }) => {
      const last = durable.get(this.partitionName(partition));
      return last !== undefined && last + 1 < Number(low)
        ? [{ source: this.partitionName(partition), from: last + 1, to: Number(low) }]
        : [];
    });
    if (gaps.length > 0) await handler([], { heartbeat: async () => {} }, gaps);
    // Joining the group can take a session timeout (30 s) after a crash, until the broker drops
    // the dead member: start() does not wait for it, so the service is up meanwhile (and not ready).
    consumer
      .run(async (batch, control) => {
        this.#connected = true;
        this.#highWatermarks.set(batch.partition, Number(batch.highWatermark));
        if (batch.messages.length === 0) return;
        const partition = this.partitionName(batch.partition);
        const records: RawRecord[] = batch.messages.map((message) => ({
          partition,
          offset: Number(message.offset),
          key: message.key,
          value: message.value,
          timestamp: Number(message.timestamp),
        }));
        await handler(records, control);
        this.#nextOffsets.set(batch.partition, Number(batch.messages.at(-1)?.offset) + 1);
      }, startAt)
      .then(
        () => {
          this.#connected = true;
        },
        (error: Error) => this.#options.onCrash?.(error),
      );
    // Backpressure asked for before the consumer existed.
    if (this.#paused) this.pause();
  }

  async commit(positions: DurablePositions): Promise<void> {
    const prefix = `${this.#options.topic}/`;
    const offsets = [...positions]
      .filter(([partition]) => partition.startsWith(prefix))
      .map(([partition, offset]) => ({
        topic: this.#options.topic,
        partition: Number(partition.slice(prefix.length)),
        offset: String(offset + 1),
      }));
    if (offsets.length > 0) await this.#consumer?.commitOffsets(offsets);
  }

  pause(): void {
    this.#paused = true;
    this.#consumer?.pause([{ topic: this.#options.topic }]);
  }

  resume(): void {
    this.#paused = false;
    this.#consumer?.resume([{ topic: this.#options.topic }]);
  }

  isPaused(): boolean {
    return this.#paused;
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#stopped.abort();
    await this.#starting;
    this.#connected = false;
    await this.#consumer?.disconnect();
  }

  isConnected(): boolean {
    return this.#connected;
  }

  lastError(): string | null {
    return this.#lastError;
  }

  hasEnded(): boolean {
    return false;
  }

  partitions(): string[] {
    return this.#partitions;
  }

  backlog(): number | null {
    if (this.#highWatermarks.size === 0) return null;
    let total = 0;
    for (const [partition, high] of this.#highWatermarks)
      total += Math.max(0, high - (this.#nextOffsets.get(partition) ?? 0));
    return total;
  }
}
