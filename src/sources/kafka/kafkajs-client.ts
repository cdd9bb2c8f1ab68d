import kafkajs, {
  type Admin,
  type Consumer,
  Kafka,
  type LogEntry,
  logLevel,
  Partitioners,
  type Producer,
  type SASLOptions,
} from 'kafkajs';
import type { Logger } from 'pino';
import type {
  BatchHandler,
  CommittedOffset,
  ConsumerOptions,
  KafkaAdmin,
  KafkaClient,
  KafkaConnectionOptions,
  KafkaConsumer,
  KafkaProducer,
  PartitionOffset,
  PartitionRange,
  ProduceMessage,
  TopicPartitionOffset,
  TopicPartitions,
  TopicSpec,
} from './client.js';
import { patchKafkajsRequestQueue } from './kafkajs-patch.js';

patchKafkajsRequestQueue();

/**
 * Backoff 250 ms doubling to 10 s, 8 retries: about 35 s, enough to ride through a broker restart
 * before an operation fails (kafkajs' default of 5 retries from 300 ms gives up after ~10 s).
 */
const RETRY = { initialRetryTime: 250, maxRetryTime: 10_000, retries: 8 };

/** kafkajs' default of 1 s is too tight on a busy 2-core machine during broker startup. */
const CONNECTION_TIMEOUT_MS = 3_000;

const DEFAULT_MAX_WAIT_MS = 1_000;
const SESSION_TIMEOUT_MS = 10_000;

/** A KafkaClient backed by kafkajs. Without a logger, kafkajs logs nothing. */
export function createKafkajsClient(options: KafkaConnectionOptions, logger?: Logger): KafkaClient {
  const settings = {
    clientId: options.clientId,
    brokers: options.brokers,
    ssl: options.ssl ?? false,
    ...(options.sasl ? { sasl: saslOptions(options.sasl) } : {}),
    connectionTimeout: CONNECTION_TIMEOUT_MS,
  };
  const kafka = new Kafka({ ...settings, retry: RETRY, ...kafkajsLogging(logger) });
  // Connects once, no retries (kafkajs connects with its client's retry, whatever the admin's):
  // with no broker answering, a consumer's caller learns why within a connection timeout, not
  // after the ~35 s of RETRY. A KafkaSource retries with a backoff of its own.
  const probe = new Kafka({ ...settings, retry: { retries: 0 }, logLevel: logLevel.NOTHING });

  return {
    async connectAdmin() {
      const admin = kafka.admin();
      await admin.connect();
      return new KafkajsAdmin(admin);
    },

    async connectProducer() {
      const producer = kafka.producer({
        // Naming the partitioner is what silences kafkajs' "switched default partitioner" warning;
        // DefaultPartitioner hashes keys like the Java client, so keys land where Java producers put them.
        createPartitioner: Partitioners.DefaultPartitioner,
        // kafkajs resends a broker's whole request when one partition in it fails (e.g. "not the
        // leader" just after a topic is created), which duplicates the partitions that succeeded.
        // Idempotence lets the broker drop those; kafkajs requires one request in flight for it.
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
      });
      await producer.connect();
      return new KafkajsProducer(producer);
    },

    async connectConsumer(consumerOptions: ConsumerOptions) {
      const reachable = probe.admin();
      try {
        await reachable.connect();
      } finally {
        await reachable.disconnect().catch(() => {});
      }
      const consumer = kafka.consumer({
        groupId: consumerOptions.groupId,
        maxWaitTimeInMs: consumerOptions.maxWaitMs ?? DEFAULT_MAX_WAIT_MS,
        // Larger batches mean fewer DuckDB statements per record downstream.
        maxBytesPerPartition: 1024 * 1024,
        maxBytes: 1024 * 1024,
        allowAutoTopicCreation: false,
        // A restarted instance joins the group only once the broker has dropped its dead member, a
        // session timeout after its last heartbeat: 10 s instead of kafkajs' 30 s, so ingest resumes
        // within 15 s of a kill -9 (kafkajs has no static membership to skip the wait).
        sessionTimeout: SESSION_TIMEOUT_MS,
        heartbeatInterval: SESSION_TIMEOUT_MS / 4,
        retry: RETRY,
      });
      const onCrash = consumerOptions.onCrash;
      if (onCrash) {
        consumer.on(consumer.events.CRASH, (event) => onCrash(event.payload.error, event.payload.restart));
      }
      // Lag needs committed and end offsets, which only the admin API reads.
      const admin = kafka.admin();
      try {
        await Promise.all([consumer.connect(), admin.connect()]);
      } catch (error) {
        await Promise.allSettled([consumer.disconnect(), admin.disconnect()]);
        throw error;
      }
      return new KafkajsConsumer(consumer, admin, consumerOptions.groupId);
    },
  };
}

/** kafkajs types each mechanism separately; a value with a union of mechanisms has to be split. */
function saslOptions(sasl: NonNullable<KafkaConnectionOptions['sasl']>): SASLOptions {
  const { username, password } = sasl;
  switch (sasl.mechanism) {
    case 'plain':
      return { mechanism: 'plain', username, password };
    case 'scram-sha-256':
      return { mechanism: 'scram-sha-256', username, password };
    case 'scram-sha-512':
      return { mechanism: 'scram-sha-512', username, password };
  }
}

/**
 * Routes kafkajs logs to pino. kafkajs logs every retried request failure at ERROR, though the
 * operation usually succeeds on retry; failures that matter surface as rejected promises or
 * onCrash. So ERROR and WARN become warn, and its lifecycle INFO chatter becomes debug.
 */
function kafkajsLogging(logger: Logger | undefined): {
  logLevel: logLevel;
  logCreator?: () => (entry: LogEntry) => void;
} {
  if (!logger) return { logLevel: logLevel.NOTHING };
  const log = logger.child({ component: 'kafkajs' });
  // kafkajs filters by its own level before building an entry: ask only for what pino would print.
  const level = log.isLevelEnabled('trace')
    ? logLevel.DEBUG
    : log.isLevelEnabled('debug')
      ? logLevel.INFO
      : log.isLevelEnabled('warn')
        ? logLevel.WARN
        : logLevel.NOTHING;
  return {
    logLevel: level,
    logCreator:
      () =>
      ({ namespace, level: entryLevel, log: { message, timestamp: _timestamp, logger: _logger, ...fields } }) => {
        const context = { namespace, ...fields };
        if (entryLevel <= logLevel.WARN) log.warn(context, message);
        else if (entryLevel === logLevel.INFO) log.debug(context, message);
        else log.trace(context, message);
      },
  };
}

async function offsetRanges(admin: Admin, topic: string): Promise<PartitionRange[]> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.map(({ partition, low, high }) => ({ partition, low, high })).sort(byPartition);
}

async function endOffsets(admin: Admin, topic: string): Promise<PartitionOffset[]> {
  return (await offsetRanges(admin, topic)).map(({ partition, high }) => ({ partition, offset: high }));
}

async function committedOffsets(admin: Admin, groupId: string, topic: string): Promise<CommittedOffset[]> {
  const [result] = await admin.fetchOffsets({ groupId, topics: [topic] });
  // kafkajs reports "nothing committed" as offset -1.
  return (result?.partitions ?? [])
    .map(({ partition, offset }) => ({ partition, offset: offset === '-1' ? null : offset }))
    .sort(byPartition);
}

function partitionKey(target: { topic: string; partition: number }): string {
  return `${target.topic}/${target.partition}`;
}

function byPartition(a: { partition: number }, b: { partition: number }): number {
  return a.partition - b.partition;
}

class KafkajsAdmin implements KafkaAdmin {
  readonly #admin: Admin;

  constructor(admin: Admin) {
    this.#admin = admin;
  }

  async createTopics(topics: TopicSpec[]): Promise<void> {
    await this.#admin.createTopics({
      waitForLeaders: true,
      topics: topics.map((spec) => ({
        topic: spec.topic,
        numPartitions: spec.partitions,
        ...(spec.replicationFactor === undefined ? {} : { replicationFactor: spec.replicationFactor }),
        configEntries: Object.entries(spec.config ?? {}).map(([name, value]) => ({ name, value })),
      })),
    });
  }

  endOffsets(topic: string): Promise<PartitionOffset[]> {
    return endOffsets(this.#admin, topic);
  }

  committedOffsets(groupId: string, topic: string): Promise<CommittedOffset[]> {
    return committedOffsets(this.#admin, groupId, topic);
  }

  async partitionCounts(topics: string[]): Promise<Map<string, number>> {
    // Metadata of a topic that does not exist is an error in kafkajs (or creates it, on brokers that auto-create).
    const existing = new Set(await this.#admin.listTopics());
    const present = [...new Set(topics)].filter((topic) => existing.has(topic));
    if (present.length === 0) return new Map();
    const metadata = await this.#admin.fetchTopicMetadata({ topics: present });
    return new Map(metadata.topics.map((topic) => [topic.name, topic.partitions.length]));
  }

  disconnect(): Promise<void> {
    return this.#admin.disconnect();
  }
}

class KafkajsProducer implements KafkaProducer {
  readonly #producer: Producer;

  constructor(producer: Producer) {
    this.#producer = producer;
  }

  async send(topic: string, messages: ProduceMessage[]): Promise<void> {
    await this.#producer.send({ topic, messages, acks: -1 });
  }

  disconnect(): Promise<void> {
    return this.#producer.disconnect();
  }
}

class KafkajsConsumer implements KafkaConsumer {
  readonly #consumer: Consumer;
  readonly #admin: Admin;
  readonly #groupId: string;
  /** Per `topic/partition`: where fetching starts after a group join (see KafkaConsumer.run). */
  readonly #resumeAt = new Map<string, string>();

  constructor(consumer: Consumer, admin: Admin, groupId: string) {
    this.#consumer = consumer;
    this.#admin = admin;
    this.#groupId = groupId;
  }

  subscribe(topics: string[], options?: { fromBeginning?: boolean }): Promise<void> {
    return this.#consumer.subscribe({ topics, fromBeginning: options?.fromBeginning ?? false });
  }

  run(handler: BatchHandler, startAt: TopicPartitionOffset[] = []): Promise<void> {
    for (const target of startAt) this.#resumeAt.set(partitionKey(target), target.offset);
    // kafkajs emits GROUP_JOIN synchronously after the sync and applies seeks at the next fetch,
    // so a seek made here is in place before the partitions are fetched.
    this.#consumer.on(this.#consumer.events.GROUP_JOIN, ({ payload }) => {
      for (const [topic, partitions] of Object.entries(payload.memberAssignment)) {
        for (const partition of partitions) {
          const offset = this.#resumeAt.get(partitionKey({ topic, partition }));
          if (offset !== undefined) this.#consumer.seek({ topic, partition, offset });
        }
      }
    });
    return this.#consumer.run({
      autoCommit: false,
      // Once the handler resolves, the next fetch starts after the batch (see BatchHandler).
      eachBatchAutoResolve: true,
      eachBatch: ({ batch, heartbeat, isRunning }) =>
        // kafkajs' message objects already have the ConsumedMessage shape: passed on, not copied,
        // because this runs for every record.
        handler(
          {
            topic: batch.topic,
            partition: batch.partition,
            messages: batch.messages,
            highWatermark: batch.highWatermark,
          },
          { heartbeat, isRunning },
        ),
    });
  }

  commitOffsets(offsets: TopicPartitionOffset[]): Promise<void> {
    // Committed offsets cover durable work: a later group join resumes there even if the commit fails.
    for (const target of offsets) this.#resumeAt.set(partitionKey(target), target.offset);
    return this.#consumer.commitOffsets(offsets);
  }

  pause(topics: TopicPartitions[]): void {
    this.#consumer.pause(topics);
  }

  resume(topics: TopicPartitions[]): void {
    this.#consumer.resume(topics);
  }

  seek(target: TopicPartitionOffset): void {
    this.#consumer.seek(target);
  }

  async topicExists(topic: string): Promise<boolean> {
    return (await this.#admin.listTopics()).includes(topic);
  }

  committedOffsets(topic: string): Promise<CommittedOffset[]> {
    return committedOffsets(this.#admin, this.#groupId, topic);
  }

  endOffsets(topic: string): Promise<PartitionOffset[]> {
    return endOffsets(this.#admin, topic);
  }

  offsetRanges(topic: string): Promise<PartitionRange[]> {
    return offsetRanges(this.#admin, topic);
  }

  async retentionMs(topic: string): Promise<number | null> {
    const { resources } = await this.#admin.describeConfigs({
      includeSynonyms: false,
      // Not a named import: Node's CommonJS export detection does not find it in kafkajs.
      resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name: topic, configNames: ['retention.ms'] }],
    });
    const value = resources[0]?.configEntries.find((entry) => entry.configName === 'retention.ms')?.configValue;
    return value === undefined ? null : Number(value);
  }

  async disconnect(): Promise<void> {
    await Promise.all([this.#consumer.disconnect(), this.#admin.disconnect()]);
  }
}
