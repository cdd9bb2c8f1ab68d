import { hostname } from 'node:os';
import { ShadowdiffError } from '../errors.js';
import type { ClusterConfig, ComparisonConfig } from './schema.js';

const SOURCE_SIDES = ['live', 'candidate', 'control'] as const;

/**
 * In cluster mode only Kafka comparisons run: instances split a comparison by its partitions, and a
 * file or the simulator has none. Running such a comparison on one chosen instance needs the shared
 * results that are not built yet, so it is refused rather than run on every instance at once (each
 * would answer for its own copy). `prefix`: the comparison's path and a dot, empty for an API body.
 */
export function checkClusterSources(comparison: ComparisonConfig, prefix: string): void {
  for (const side of SOURCE_SIDES) {
    const source = comparison[side];
    if (!source || 'kafka' in source) continue;
    const kind = Object.keys(source)[0];
    throw new ShadowdiffError(
      'SD_CONFIG_INVALID',
      `${prefix}${side}: a ${kind} source cannot run in cluster mode (cluster.enabled): only Kafka comparisons are split over instances; run comparison ${comparison.id} on an instance without cluster mode`,
    );
  }
}

/** Names Kafka refuses though its pattern allows them. */
export function checkResultsTopic(cluster: ClusterConfig): void {
  if (cluster.resultsTopic === '.' || cluster.resultsTopic === '..') {
    throw new ShadowdiffError(
      'SD_CONFIG_INVALID',
      `cluster.resultsTopic: "${cluster.resultsTopic}" is not a topic name`,
    );
  }
}

/**
 * The name members are sorted by in the consumer group: the configured one, else the host name,
 * which is the pod name in Kubernetes. Stable across restarts of one pod of a StatefulSet; a
 * Deployment's new pod gets a new name, which only moves partitions at that pod's own rebalance.
 */
export function instanceIdOf(cluster: ClusterConfig, host = hostname()): string {
  return cluster.instanceId ?? host;
}
