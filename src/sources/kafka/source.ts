import type { DurablePositions, RawRecord, RecordHandler, RecordSource } from '../source.js';
import type { KafkaClient, KafkaConsumer } from './client.js';

export interface KafkaSourceOptions {
  topic: string;
  groupId: string;
  fromBeginning: boolean;
  onCrash?: (error: Error) => void;
}

/** One side's Kafka topic: manual commits of durable offsets, pause/resume for backpressure, lag. */
export class KafkaSource implements RecordSource {
  readonly decoded = false;
  readonly #client: KafkaClient;
  readonly #options: KafkaSourceOptions;
  #consumer: KafkaConsumer | undefined;
  #connected = false;
  #paused = false;
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
   * Where each partition resumes is decided by the durable positions in DuckDB, not by the group's
   * committed offsets: commits trail durability and are only a courtesy to lag monitors. A
   * partition with no durable position starts at its oldest record (fromBeginning) or where the
   * group left it. So a commit lost in a crash, or offsets reset by hand, never skip a record.
   */
  async start(handler: RecordHandler, durable: DurablePositions): Promise<void> {
    const { topic } = this.#options;
    const consumer = await this.#client.connectConsumer({
      groupId: this.#options.groupId,
      onCrash: (error) => {
        this.#connected = false;
        this.#options.onCrash?.(error);
      },
    });
    this.#consumer = consumer;
    await consumer.subscribe([topic], { fromBeginning: this.#options.fromBeginning });
    const ranges = await consumer.offsetRanges(topic);
    this.#partitions = ranges.map((range) => this.partitionName(range.partition));
    for (const range of ranges) this.#highWatermarks.set(range.partition, Number(range.high));
    const startAt = ranges.flatMap(({ partition, low }) => {
      const last = durable.get(this.partitionName(partition));
      const next = last !== undefined ? String(last + 1) : this.#options.fromBeginning ? low : undefined;
      return next === undefined ? [] : [{ topic, partition, offset: next }];
    });
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
    this.#connected = false;
    await this.#consumer?.disconnect();
  }

  isConnected(): boolean {
    return this.#connected;
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
