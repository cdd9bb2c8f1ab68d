/**
 * The Kafka operations shadowdiff uses, independent of the client library, so that a
 * librdkafka-based client can replace kafkajs without touching the sources that consume.
 *
 * Offsets are int64 values carried as decimal strings. A committed offset follows Kafka's
 * convention: it is the offset of the next record to read (last processed offset + 1).
 */

export interface KafkaConnectionOptions {
  brokers: string[];
  clientId: string;
  ssl?: boolean;
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string } | null;
}

export interface KafkaClient {
  connectAdmin(): Promise<KafkaAdmin>;
  connectProducer(): Promise<KafkaProducer>;
  /** Fails within a connection timeout when no broker answers, so that the caller can say why. */
  connectConsumer(options: ConsumerOptions): Promise<KafkaConsumer>;
}

export interface TopicSpec {
  topic: string;
  partitions: number;
  /** Defaults to the broker's default.replication.factor. */
  replicationFactor?: number;
  /** Topic-level configs, e.g. `{'retention.ms': '3600000'}`. */
  config?: Record<string, string>;
}

export interface PartitionOffset {
  partition: number;
  offset: string;
}

/** A partition's oldest retained offset and its high watermark. */
export interface PartitionRange {
  partition: number;
  low: string;
  high: string;
}

export interface CommittedOffset {
  partition: number;
  /** null when the group has committed nothing for this partition. */
  offset: string | null;
}

export interface KafkaAdmin {
  /** Creates the topics that do not exist yet and waits for their leaders; existing topics are left as they are. */
  createTopics(topics: TopicSpec[]): Promise<void>;
  /** High watermark (offset after the last record) of every partition, sorted by partition. */
  endOffsets(topic: string): Promise<PartitionOffset[]>;
  /** The group's committed offsets for every partition of the topic, sorted by partition. */
  committedOffsets(groupId: string, topic: string): Promise<CommittedOffset[]>;
  /** The number of partitions of each topic that exists; topics that do not exist are absent. */
  partitionCounts(topics: string[]): Promise<Map<string, number>>;
  disconnect(): Promise<void>;
}

export interface ProduceMessage {
  key?: Buffer | string | null;
  value: Buffer | string | null;
  /** Record timestamp in epoch milliseconds; the broker's receive time when absent. */
  timestamp?: string;
  /** Chosen by key hash (Java client compatible) when absent. */
  partition?: number;
}

export interface KafkaProducer {
  /** Sends the batch; resolves when all in-sync replicas have every record. Retries never duplicate records. */
  send(topic: string, messages: ProduceMessage[]): Promise<void>;
  disconnect(): Promise<void>;
}

export interface ConsumerOptions {
  groupId: string;
  /** Longest time the broker holds a fetch open waiting for data; bounds how long disconnect waits. Default 1000. */
  maxWaitMs?: number;
  /** Called when the consumer fails outside a handler call it can report to, e.g. on a lost group. */
  onCrash?: (error: Error, willRestart: boolean) => void;
}

export interface ConsumedMessage {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  /** Epoch milliseconds. */
  timestamp: string;
}

export interface ConsumedBatch {
  topic: string;
  partition: number;
  messages: ConsumedMessage[];
  /** Offset after the last record in the partition at fetch time: lag = highWatermark - next offset. */
  highWatermark: string;
}

export interface BatchControl {
  /** Keeps the group membership alive during long processing; call it between chunks of work. */
  heartbeat(): Promise<void>;
  /** False once the consumer is stopping or rebalancing: stop processing the batch early. */
  isRunning(): boolean;
}

/**
 * Handles one fetched batch of one partition. Once it resolves, the consumer moves past the batch
 * (nothing is committed: that is the handler's job, when its results are durable). If it rejects,
 * the batch is fetched and delivered again after a backoff; when retries run out, the consumer
 * restarts from the committed offsets and `onCrash` is told. Either way records can come twice:
 * whoever consumes dedupes by (topic, partition, offset).
 */
export type BatchHandler = (batch: ConsumedBatch, control: BatchControl) => Promise<void>;

export interface TopicPartitions {
  topic: string;
  /** All partitions of the topic when absent. */
  partitions?: number[];
}

export interface TopicPartitionOffset {
  topic: string;
  partition: number;
  offset: string;
}

export interface KafkaConsumer {
  /** fromBeginning: where to start in partitions the group has no committed offset for (default: the end). */
  subscribe(topics: string[], options?: { fromBeginning?: boolean }): Promise<void>;
  /**
   * Joins the group and starts fetching; resolves once started. Offsets are never committed
   * automatically. On every group join, each assigned partition starts at the offset last
   * committed through this consumer, else at its `startAt` offset, else where the group left it:
   * the consumer itself decides, before the partition is fetched (no callback could do so in time
   * when the client runs on another thread).
   */
  run(handler: BatchHandler, startAt?: TopicPartitionOffset[]): Promise<void>;
  /** Commits the offset of the next record to read per partition. */
  commitOffsets(offsets: TopicPartitionOffset[]): Promise<void>;
  /** Stops fetching these partitions (backpressure); a batch fetched just before may still be delivered. */
  pause(topics: TopicPartitions[]): void;
  resume(topics: TopicPartitions[]): void;
  /** Moves the next fetch of an assigned partition to `offset`; only after run(). */
  seek(target: TopicPartitionOffset): void;
  /** Whether the cluster has this topic. */
  topicExists(topic: string): Promise<boolean>;
  /** This group's committed offsets for the topic, sorted by partition. */
  committedOffsets(topic: string): Promise<CommittedOffset[]>;
  /** High watermarks of the topic, sorted by partition. */
  endOffsets(topic: string): Promise<PartitionOffset[]>;
  /** Oldest retained and high watermark offsets of the topic, sorted by partition. */
  offsetRanges(topic: string): Promise<PartitionRange[]>;
  /** The topic's `retention.ms` (-1: kept forever); null when the broker does not say. */
  retentionMs(topic: string): Promise<number | null>;
  /** Leaves the group and closes connections; does not commit. */
  disconnect(): Promise<void>;
}
