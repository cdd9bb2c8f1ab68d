import type { ComparisonConfig, Side } from '../../config/schema.js';
import { ShadowdiffError } from '../../errors.js';
import type { KafkaAdmin } from './client.js';

/** One side's topic and its partition count (null: the topic does not exist). */
export interface SideTopic {
  side: Side;
  topic: string;
  partitions: number | null;
}

const SIDES: readonly Side[] = ['live', 'candidate', 'control'];

/** The Kafka topic of each side of a comparison, in side order; sides that are not Kafka are left out. */
export function sideTopics(comparison: ComparisonConfig): { side: Side; topic: string }[] {
  return SIDES.flatMap((side) => {
    const source = comparison[side];
    return source && 'kafka' in source ? [{ side, topic: source.kafka.topic }] : [];
  });
}

/**
 * Cluster mode gives partition p of every side to one instance, which pairs a key's records only if
 * every side's topic has the same partition count (docs/SCALING.md). Otherwise the comparison cannot
 * start: the error names each topic and its count.
 */
export function checkCoPartitioned(comparison: string, topics: readonly SideTopic[]): void {
  const absent = topics.find((t) => t.partitions === null);
  if (absent) {
    throw new ShadowdiffError(
      'SD_CLUSTER_PARTITIONS',
      `comparison ${comparison}: the ${absent.side} topic ${absent.topic} does not exist; cluster mode checks at start that every side's topic has the same partition count`,
    );
  }
  if (new Set(topics.map((t) => t.partitions)).size <= 1) return;
  const counts = topics.map((t) => `${t.side} ${t.topic} has ${t.partitions}`).join(', ');
  throw new ShadowdiffError(
    'SD_CLUSTER_PARTITIONS',
    `comparison ${comparison}: cluster mode needs the same partition count on every side's topic, but ${counts}; give the topics the same partition count and partitioner, or run the comparison without cluster mode`,
  );
}

/** Reads the partition counts of a comparison's topics and checks them (`checkCoPartitioned`). */
export async function verifyCoPartitioned(admin: KafkaAdmin, comparison: ComparisonConfig): Promise<void> {
  const topics = sideTopics(comparison);
  let counts: Map<string, number>;
  try {
    counts = await admin.partitionCounts(topics.map((t) => t.topic));
  } catch (cause) {
    throw new ShadowdiffError(
      'SD_CLUSTER_PARTITIONS',
      `comparison ${comparison.id}: cannot read the partition counts of its topics (cluster mode checks them at start): ${(cause as Error).message}`,
      { cause, canRetry: true },
    );
  }
  checkCoPartitioned(
    comparison.id,
    topics.map((t) => ({ ...t, partitions: counts.get(t.topic) ?? null })),
  );
}
