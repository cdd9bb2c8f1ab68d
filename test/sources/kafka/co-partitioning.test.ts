import { describe, expect, it } from 'vitest';
import { parseComparison } from '../../../src/config/load.js';
import { checkCoPartitioned, sideTopics } from '../../../src/sources/kafka/co-partitioning.js';

describe('co-partitioning check', () => {
  it('passes sides whose topics have one partition count', () => {
    expect(() =>
      checkCoPartitioned('orders-v2', [
        { side: 'live', topic: 'a', partitions: 12 },
        { side: 'candidate', topic: 'b', partitions: 12 },
        { side: 'control', topic: 'c', partitions: 12 },
      ]),
    ).not.toThrow();
  });

  it('names every topic and its count when one differs', () => {
    expect(() =>
      checkCoPartitioned('orders-v2', [
        { side: 'live', topic: 'orders.v1', partitions: 12 },
        { side: 'candidate', topic: 'orders.v2', partitions: 12 },
        { side: 'control', topic: 'orders.v1-replica', partitions: 6 },
      ]),
    ).toThrow(
      "comparison orders-v2: cluster mode needs the same partition count on every side's topic, but live orders.v1 has 12, candidate orders.v2 has 12, control orders.v1-replica has 6; give the topics the same partition count and partitioner, or run the comparison without cluster mode",
    );
  });

  it('reads the Kafka topic of each side, in side order', () => {
    const comparison = parseComparison({
      id: 'orders-v2',
      control: { kafka: { topic: 'c' } },
      candidate: { kafka: { topic: 'b' } },
      live: { kafka: { topic: 'a' } },
      key: ['order_id'],
    });
    expect(sideTopics(comparison)).toEqual([
      { side: 'live', topic: 'a' },
      { side: 'candidate', topic: 'b' },
      { side: 'control', topic: 'c' },
    ]);
  });
});
