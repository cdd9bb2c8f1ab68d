import kafkajs, { type Assigner, type GroupMember, type PartitionAssigner } from 'kafkajs';

/** A member of a consumer group as the assignment sees it. */
export interface GroupMemberInfo {
  memberId: string;
  /** The stable name members are ordered by (`cluster.instanceId`); absent for a member that sent none. */
  instanceId?: string;
  /** The topics the member subscribes to. */
  topics: readonly string[];
}

/** Per member id: per topic, the partitions it owns (ascending). Every member is present. */
export type GroupAssignment = Map<string, Record<string, number[]>>;

/** By instance id (a member without one by its member id), then member id, so equal ids still order one way. */
function byInstance(a: GroupMemberInfo, b: GroupMemberInfo): number {
  const nameA = a.instanceId ?? a.memberId;
  const nameB = b.instanceId ?? b.memberId;
  if (nameA !== nameB) return nameA < nameB ? -1 : 1;
  return a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0;
}

/**
 * Kafka's range assignment, over one partition count for the whole group: `count` partitions
 * in `members` contiguous ranges, the first `count % members` one longer. The index of the member
 * that owns each partition.
 */
function rangeOwners(count: number, members: number): number[] {
  const owners: number[] = [];
  const base = Math.floor(count / members);
  const longer = count % members;
  for (let member = 0; member < members; member++) {
    const length = base + (member < longer ? 1 : 0);
    for (let i = 0; i < length; i++) owners.push(member);
  }
  return owners;
}

/**
 * Co-partitioned range assignment: partition p of every topic goes to the same member, so the
 * records of one key on every side of a comparison meet on one instance (docs/SCALING.md). Members
 * are sorted by instance id, so every leader computes the same answer from the same members, and
 * a restarted instance (a new member id) gets its partitions back. Ranges are taken over the
 * largest partition count of the group: with equal counts (the start checks it) this is Kafka's
 * RangeAssignor; with unequal ones (a topic grew since) partition p still goes to one member for
 * every topic that has it. A topic is split over the members that subscribe to it, so topics with
 * the same subscribers are co-partitioned (all of them, once a rolling change is through).
 */
export function assignRanges(
  members: readonly GroupMemberInfo[],
  partitions: Readonly<Record<string, readonly number[]>>,
): GroupAssignment {
  const sorted = [...members].sort(byInstance);
  const assignment: GroupAssignment = new Map(sorted.map((member) => [member.memberId, {}]));
  const count = Math.max(0, ...Object.values(partitions).flatMap((ids) => ids.map((id) => id + 1)));
  for (const [topic, ids] of Object.entries(partitions)) {
    const subscribers = sorted.filter((member) => member.topics.includes(topic));
    if (subscribers.length === 0) continue;
    const owners = rangeOwners(count, subscribers.length);
    for (const id of [...ids].sort((a, b) => a - b)) {
      const owner = subscribers[owners[id] as number] as GroupMemberInfo;
      const owned = assignment.get(owner.memberId) as Record<string, number[]>;
      const list = owned[topic] ?? [];
      list.push(id);
      owned[topic] = list;
    }
  }
  return assignment;
}

const { MemberMetadata, MemberAssignment } = kafkajs.AssignerProtocol;
export const RANGE_ASSIGNER_NAME = 'shadowdiff-range';
const VERSION = 1;

/** What a member sends in its group metadata's user data. */
interface MemberUserData {
  instanceId: string;
}

/**
 * A member's subscription and instance id from its group metadata. Metadata this assigner cannot
 * read (another client's) counts as subscribing to every topic of the group without an instance id,
 * as kafkajs' round-robin treats every member.
 */
export function readMember(member: GroupMember, groupTopics: readonly string[]): GroupMemberInfo {
  try {
    const metadata = MemberMetadata.decode(member.memberMetadata);
    if (!metadata) return { memberId: member.memberId, topics: groupTopics };
    const userData = JSON.parse(metadata.userData.toString('utf8')) as Partial<MemberUserData>;
    return {
      memberId: member.memberId,
      topics: metadata.topics,
      ...(typeof userData.instanceId === 'string' ? { instanceId: userData.instanceId } : {}),
    };
  } catch {
    return { memberId: member.memberId, topics: groupTopics };
  }
}

/**
 * The assigner for kafkajs' `partitionAssigners` (kafkajs ships only round-robin), carrying
 * `instanceId` in the member metadata. The group's leader runs `assign` for every member.
 */
export function rangeAssigner(instanceId: string): PartitionAssigner {
  return ({ cluster }): Assigner => ({
    name: RANGE_ASSIGNER_NAME,
    version: VERSION,
    async assign({ members, topics }) {
      const partitions = Object.fromEntries(
        topics.map((topic) => [topic, cluster.findTopicPartitionMetadata(topic).map((meta) => meta.partitionId)]),
      );
      const assignment = assignRanges(
        members.map((member) => readMember(member, topics)),
        partitions,
      );
      return [...assignment].map(([memberId, owned]) => ({
        memberId,
        memberAssignment: MemberAssignment.encode({ version: VERSION, assignment: owned, userData: Buffer.alloc(0) }),
      }));
    },
    protocol({ topics }) {
      const userData: MemberUserData = { instanceId };
      return {
        name: RANGE_ASSIGNER_NAME,
        metadata: MemberMetadata.encode({
          version: VERSION,
          topics,
          userData: Buffer.from(JSON.stringify(userData), 'utf8'),
        }),
      };
    },
  });
}
