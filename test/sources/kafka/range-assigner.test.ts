import { randomUUID } from 'node:crypto';
import kafkajs, { type Consumer, Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import {
  assignRanges,
  type GroupAssignment,
  type GroupMemberInfo,
  RANGE_ASSIGNER_NAME,
  rangeAssigner,
  readMember,
} from '../../../src/sources/kafka/range-assigner.js';
import { kafkaFixture } from '../../helpers/kafka.js';
import { waitFor } from '../../helpers/wait.js';

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const topicsOf = (count: number) => range(count).map((t) => `side-${t}`);

/** Members named in an order unlike their instance ids, so sorting by member id would show. */
function members(instances: readonly string[], topics: readonly string[], generation = 0): GroupMemberInfo[] {
  return instances.map((instanceId, i) => ({
    memberId: `shadowdiff-${generation}-${(instances.length - i) * 7919}-${instanceId}`,
    instanceId,
    topics,
  }));
}

/** Per instance id: per topic, its partitions. */
function byInstance(group: readonly GroupMemberInfo[], assignment: GroupAssignment) {
  return Object.fromEntries(group.map((m) => [m.instanceId ?? m.memberId, assignment.get(m.memberId)]));
}

/** Everything a co-partitioned range assignment promises, checked on one answer. */
function expectCoPartitionedRanges(group: GroupMemberInfo[], topics: string[], count: number): void {
  const partitions = Object.fromEntries(topics.map((t) => [t, range(count)]));
  const assignment = assignRanges(group, partitions);
  expect([...assignment.keys()].sort()).toEqual(group.map((m) => m.memberId).sort());
  const sorted = [...group].sort((a, b) => ((a.instanceId as string) < (b.instanceId as string) ? -1 : 1));
  // The owner of every partition, by topic: each partition of each topic exactly once.
  const owners = new Map<string, number[]>();
  sorted.forEach((member, index) => {
    for (const [topic, ids] of Object.entries(assignment.get(member.memberId) ?? {})) {
      const owned = owners.get(topic) ?? Array<number>(count).fill(-1);
      for (const id of ids) {
        expect(owned[id]).toBe(-1);
        owned[id] = index;
      }
      owners.set(topic, owned);
    }
  });
  const first = owners.get(topics[0] as string) as number[];
  expect(first).not.toContain(-1);
  // Partition p of every topic on one member.
  for (const topic of topics) expect(owners.get(topic)).toEqual(first);
  // Kafka's ranges: contiguous, in member order, the first count % members one longer.
  const lengths = sorted.map((_, index) => first.filter((owner) => owner === index).length);
  const base = Math.floor(count / group.length);
  expect(lengths).toEqual(sorted.map((_, index) => base + (index < count % group.length ? 1 : 0)));
  expect(first).toEqual([...first].sort((a, b) => a - b));
}

describe('co-partitioned range assignment', () => {
  it('splits 8 partitions of two topics over 3 members as Kafka ranges, by instance id', () => {
    const group = members(['pod-c', 'pod-a', 'pod-b'], ['live', 'candidate']);
    const assignment = assignRanges(group, { live: range(8), candidate: range(8) });
    expect(byInstance(group, assignment)).toEqual({
      'pod-a': { live: [0, 1, 2], candidate: [0, 1, 2] },
      'pod-b': { live: [3, 4, 5], candidate: [3, 4, 5] },
      'pod-c': { live: [6, 7], candidate: [6, 7] },
    });
  });

  it('holds for every member count 1-8, partition count 1-16 and 1-3 topics, in any member order', () => {
    for (let memberCount = 1; memberCount <= 8; memberCount++) {
      for (let count = 1; count <= 16; count++) {
        for (let topicCount = 1; topicCount <= 3; topicCount++) {
          const topics = topicsOf(topicCount);
          const instances = range(memberCount).map((i) => `instance-${String(i).padStart(2, '0')}`);
          const group = members(instances, topics);
          expectCoPartitionedRanges(group, topics, count);
          const partitions = Object.fromEntries(topics.map((t) => [t, range(count)]));
          const expected = assignRanges(group, partitions);
          // The leader sees members in whatever order the broker lists them: same answer.
          for (const order of [[...group].reverse(), [...group.slice(1), ...group.slice(0, 1)]]) {
            expect(assignRanges(order, partitions)).toEqual(expected);
          }
        }
      }
    }
  });

  it('gives members beyond the partition count nothing, and still answers for them', () => {
    const group = members(['a', 'b', 'c', 'd'], ['live', 'candidate']);
    const assignment = assignRanges(group, { live: [0, 1], candidate: [0, 1] });
    expect(byInstance(group, assignment)).toEqual({
      a: { live: [0], candidate: [0] },
      b: { live: [1], candidate: [1] },
      c: {},
      d: {},
    });
  });

  it('follows members joining and leaving: each answer depends only on the instances, not on history or member ids', () => {
    const topics = ['live', 'candidate', 'control'];
    const partitions = { live: range(12), candidate: range(12), control: range(12) };
    const steps: string[][] = [
      ['b'],
      ['b', 'a'],
      ['b', 'a', 'd'],
      ['b', 'a', 'd', 'c'],
      ['a', 'd', 'c'],
      ['a', 'c'],
      ['a', 'c', 'b'],
      ['c'],
    ];
    const seen = new Map<string, Record<string, unknown>>();
    steps.forEach((instances, generation) => {
      // Each rebalance gives every member a new member id, as a rejoin after a restart does.
      const group = members(instances, topics, generation);
      const answer = byInstance(group, assignRanges(group, partitions));
      expectCoPartitionedRanges(group, topics, 12);
      const key = [...instances].sort().join(',');
      const before = seen.get(key);
      if (before) expect(answer).toEqual(before);
      seen.set(key, answer);
    });
    expect(seen.get('a,b,c')).toEqual({
      a: { live: [0, 1, 2, 3], candidate: [0, 1, 2, 3], control: [0, 1, 2, 3] },
      b: { live: [4, 5, 6, 7], candidate: [4, 5, 6, 7], control: [4, 5, 6, 7] },
      c: { live: [8, 9, 10, 11], candidate: [8, 9, 10, 11], control: [8, 9, 10, 11] },
    });
  });

  it('keeps partition p of every topic on one member when partition counts differ (a topic grew)', () => {
    const group = members(['a', 'b', 'c'], ['live', 'candidate']);
    const assignment = assignRanges(group, { live: range(4), candidate: range(6) });
    expect(byInstance(group, assignment)).toEqual({
      a: { live: [0, 1], candidate: [0, 1] },
      b: { live: [2, 3], candidate: [2, 3] },
      c: { candidate: [4, 5] },
    });
  });

  it('splits a topic over its subscribers only, and orders equal instance ids by member id', () => {
    const group: GroupMemberInfo[] = [
      { memberId: 'm-2', instanceId: 'same', topics: ['live', 'candidate'] },
      { memberId: 'm-1', instanceId: 'same', topics: ['live', 'candidate'] },
      { memberId: 'm-3', instanceId: 'other', topics: ['live'] },
    ];
    const assignment = assignRanges(group, { live: range(3), candidate: range(3) });
    expect(Object.fromEntries(assignment)).toEqual({
      'm-3': { live: [0] },
      'm-1': { live: [1], candidate: [0, 1] },
      'm-2': { live: [2], candidate: [2] },
    });
  });
});

describe('the kafkajs range assigner', () => {
  const cluster = (counts: Record<string, number>) =>
    ({
      findTopicPartitionMetadata: (topic: string) => range(counts[topic] ?? 0).map((partitionId) => ({ partitionId })),
    }) as never;
  const { MemberAssignment } = kafkajs.AssignerProtocol;

  it('carries the instance id in the member metadata and assigns from it', async () => {
    const topics = ['orders.v1', 'orders.v2'];
    const assigners = ['pod-1', 'pod-0'].map((id) =>
      rangeAssigner(id)({ cluster: cluster({ 'orders.v1': 4, 'orders.v2': 4 }), groupId: 'g', logger: {} as never }),
    );
    const groupMembers = assigners.map((assigner, i) => {
      const state = assigner.protocol({ topics });
      expect(state.name).toBe(RANGE_ASSIGNER_NAME);
      return { memberId: `member-${i}`, memberMetadata: state.metadata };
    });
    expect(readMember(groupMembers[0] as never, topics)).toEqual({ memberId: 'member-0', instanceId: 'pod-1', topics });
    const answer = await (assigners[0] as (typeof assigners)[0]).assign({ members: groupMembers, topics });
    const decoded = Object.fromEntries(
      answer.map(({ memberId, memberAssignment }) => [memberId, MemberAssignment.decode(memberAssignment)?.assignment]),
    );
    expect(decoded).toEqual({
      'member-1': { 'orders.v1': [0, 1], 'orders.v2': [0, 1] },
      'member-0': { 'orders.v1': [2, 3], 'orders.v2': [2, 3] },
    });
  });

  it('reads metadata it cannot parse as a member of every topic without an instance id', () => {
    expect(readMember({ memberId: 'x', memberMetadata: Buffer.from([1]) }, ['a', 'b'])).toEqual({
      memberId: 'x',
      topics: ['a', 'b'],
    });
  });
});

describe('the range assigner in a real consumer group', () => {
  const kafka = kafkaFixture('shadowdiff-range-assigner-test');
  const consumers: Consumer[] = [];
  afterAll(async () => {
    await Promise.all(consumers.map((consumer) => consumer.disconnect()));
  });

  it('gives partition p of both topics to one member, members ordered by instance id', async () => {
    const suffix = randomUUID().slice(0, 8);
    const topics = [`ra-live-${suffix}`, `ra-candidate-${suffix}`];
    await kafka.admin.createTopics(topics.map((topic) => ({ topic, partitions: 4 })));
    const client = new Kafka({ clientId: 'range-test', brokers: kafka.brokers.split(','), logLevel: logLevel.NOTHING });
    const assigned = new Map<string, Record<string, number[]>>();
    const groupId = `ra-group-${suffix}`;
    // Started one after the other: the second join rebalances the first, and both end on the same generation.
    for (const instanceId of ['pod-b', 'pod-a']) {
      const consumer = client.consumer({
        groupId,
        partitionAssigners: [rangeAssigner(instanceId)],
        sessionTimeout: 10_000,
        heartbeatInterval: 1_000,
        maxWaitTimeInMs: 200,
      });
      consumers.push(consumer);
      consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
        assigned.set(instanceId, payload.memberAssignment);
      });
      await consumer.connect();
      await consumer.subscribe({ topics });
      await consumer.run({ eachBatch: async () => {} });
    }
    const settled = () =>
      JSON.stringify(assigned.get('pod-a')) ===
        JSON.stringify({ [topics[0] as string]: [0, 1], [topics[1] as string]: [0, 1] }) &&
      JSON.stringify(assigned.get('pod-b')) ===
        JSON.stringify({ [topics[0] as string]: [2, 3], [topics[1] as string]: [2, 3] });
    await waitFor(settled, 90_000, `co-partitioned assignment, got ${JSON.stringify(Object.fromEntries(assigned))}`);
    expect(Object.fromEntries(assigned)).toEqual({
      'pod-a': { [topics[0] as string]: [0, 1], [topics[1] as string]: [0, 1] },
      'pod-b': { [topics[0] as string]: [2, 3], [topics[1] as string]: [2, 3] },
    });
  }, 120_000);
});
