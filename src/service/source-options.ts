import type { IngestPlan } from '../align/ingest.js';
import { keySampling } from '../align/key-sample.js';
import type { PrepareOptions } from '../align/prepare.js';
import { recordKeying } from '../align/record-keyer.js';
import type { ComparisonConfig, Side } from '../config/schema.js';
import { scopePartitions } from '../diff/scope.js';
import { DEAD_LETTERS_PER_BATCH } from './pending-batches.js';

/** How a side's source prepares what it delivers (`align/prepare.ts`), where it runs. */
export function sourceOptions(config: ComparisonConfig, plan: IngestPlan, side: Side): PrepareOptions {
  const partitions = scopePartitions(config.scope, side);
  return {
    recordKeys: plan.recordKeys,
    recordTimestamps: plan.recordTimestamps,
    deadLetterLimit: DEAD_LETTERS_PER_BATCH,
    maxRecordBytes: config.maxMessageBytes,
    // Records of unsampled keys, and of partitions outside the scope, are dropped where the source
    // runs (a source thread for Kafka).
    ...(partitions ? { partitions } : {}),
    sampling: keySampling(config),
    // Valid records are keyed where the source runs too, so DuckDB appends them unparsed.
    keying: recordKeying(config),
  };
}
