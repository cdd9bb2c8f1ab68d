import type { ComparisonConfig, ScopeConfig, Side } from '../config/schema.js';
import type { BatchCounts, BatchField } from '../diff/batch.js';
import type { DiffSample, SampleOutcome } from '../diff/samples.js';
import type { FieldRates } from '../verdict/noise.js';
import type { VerdictBody } from '../verdict/verdict.js';

/**
 * What the HTTP API and the metrics see of one running comparison. `connecting`: running, but a
 * source has not connected yet (broker unreachable, topic missing) and keeps trying.
 */
export type ComparisonState = 'starting' | 'connecting' | 'running' | 'stopping' | 'stopped' | 'failed';

export interface SideRuntime {
  /** Event-time watermark in ms since the epoch; null before the first record, Infinity at end of input. */
  watermark: number | null;
  /** How far this side's watermark trails live's, in seconds (0 for live). */
  lagSeconds: number;
  /** Messages not yet consumed (Kafka), when known. */
  consumerLag: number | null;
  connected: boolean;
  endOfInput: boolean;
  /** Why the source is not connected while it keeps trying. */
  error?: string;
}

export interface ComparisonRuntime {
  state: ComparisonState;
  epoch: number;
  epochStartedAt: string;
  openWindows: number;
  closedWindows: number;
  sampleRate: number;
  sides: Partial<Record<Side, SideRuntime>>;
  /** Why the comparison failed, or why a source is still connecting; the message, never a secret. */
  error?: string;
}

export interface Summary {
  comparison: string;
  /** The slice judged (the comparison's scope), in words. */
  scope?: string;
  counts: BatchCounts;
  fields: BatchField[];
  noise?: FieldRates[];
  windows: { open: number; closed: number };
  watermarks: Partial<Record<Side, string | null>>;
}

export interface WindowSummary {
  start: string;
  end: string;
  closedAt: string;
  equal: number;
  different: number;
  missing: number;
  extra: number;
  /** With a control side: records that differ only in noise fields, counted in `equal`. */
  noiseOnly?: number;
  diffSeconds: number;
  /** The mismatch-rate check over this window and every earlier one of the epoch. */
  mismatchRate: MismatchRateSoFar;
}

/** What the verdict's mismatch-rate check read once a window was in: its point of the band over time. */
export interface MismatchRateSoFar {
  sampled: number;
  mismatched: number;
  rate: number;
  lower: number;
  upper: number;
}

/** Samples of differences in noise fields: after the real ones (`include`), left out, or alone. */
export type NoiseFilter = 'include' | 'exclude' | 'only';

export interface ComparisonView {
  readonly id: string;
  readonly config: ComparisonConfig;
  runtime(): ComparisonRuntime;
  /** The current verdict over the current epoch; cheap (cached, updated when a window closes). */
  verdict(): VerdictBody;
  summary(): Promise<Summary>;
  /** Closed windows of the current epoch, newest first. */
  windows(page: { limit: number; offset: number }): Promise<{ total: number; items: WindowSummary[] }>;
  /** Real differences first; differences in noise fields as `noise` says (default `include`). */
  samples(filter: {
    field?: string;
    outcome?: SampleOutcome;
    noise?: NoiseFilter;
    limit: number;
  }): Promise<DiffSample[]>;
  /** One stored example with its whole record pair; undefined when the current epoch has none with this id. */
  sample(id: string): Promise<DiffSample | undefined>;
  /** Starts a new epoch: the verdict and summary forget everything before now. */
  reset(): Promise<void>;
}

export interface Readiness {
  ready: boolean;
  reasons: string[];
}

export interface ComparisonRegistry {
  list(): ComparisonView[];
  get(id: string): ComparisonView | undefined;
  /** Starts a new comparison; throws ShadowdiffError SD_API_CONFLICT when the id exists. */
  create(config: ComparisonConfig): Promise<ComparisonView>;
  /**
   * Gives a running comparison another scope (null: none), which starts a new epoch; the same scope
   * changes nothing. Undefined when the id is unknown; throws SD_CONFIG_INVALID for a scope the
   * comparison cannot have.
   */
  changeScope(id: string, scope: ScopeConfig | null): Promise<ComparisonView | undefined>;
  /** Stops a comparison and deletes its stored state; false when the id is unknown. */
  delete(id: string): Promise<boolean>;
  readiness(): Readiness;
}
