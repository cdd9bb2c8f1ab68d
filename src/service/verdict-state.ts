import type { DuckDBConnection } from '@duckdb/node-api';
import type { ComparisonConfig } from '../config/schema.js';
import { scopeOfVerdict } from '../diff/scope.js';
import type { ShadowdiffMetrics } from '../metrics/metrics.js';
import { evaluateVerdict, type OutcomeCounts, type VerdictBody } from '../verdict/verdict.js';
import type { Checkpoint } from './checkpoint.js';
import { epochResults, type NoiseOptions } from './results.js';

/** What moves a verdict without a window closing. */
export interface VerdictInputs {
  /** How far the candidate trails live, in seconds (undefined before live has a watermark). */
  lagSeconds(): number | undefined;
  /** Every side drained and every window closed. */
  complete(): boolean;
  /** Records the intake counted lost so far (only ever grows). */
  lostCounted(): number;
}

type StoredCounts = OutcomeCounts & { unexpectedCandidate?: number; misroutedLive?: number };

/**
 * A comparison's verdict, judged from the stored results of its epoch (read again when a window
 * closes or the epoch changes) and from what moves without a close (lag, completeness, records
 * lost); it publishes the verdict and the outcome counters.
 */
export class VerdictState {
  readonly #config: ComparisonConfig;
  readonly #metrics: ShadowdiffMetrics;
  readonly #noise: NoiseOptions;
  readonly #inputs: VerdictInputs;
  #counts: StoredCounts = { equal: 0, different: 0, missing: 0, extra: 0 };
  /** Differences per field, noise left out. */
  #fields: Record<string, number> = {};
  /** The epoch's records lost, less those the intake counted: stored before, or in another epoch. */
  #lostBefore = 0;
  #closedWindows = 0;
  #verdict: VerdictBody;

  constructor(config: ComparisonConfig, metrics: ShadowdiffMetrics, noise: NoiseOptions, inputs: VerdictInputs) {
    this.#config = config;
    this.#metrics = metrics;
    this.#noise = noise;
    this.#inputs = inputs;
    this.#verdict = this.judge();
  }

  get verdict(): VerdictBody {
    return this.#verdict;
  }

  get closedWindows(): number {
    return this.#closedWindows;
  }

  /** Reads the epoch's stored results, with the counts the checkpoint holds for them, then judges and publishes. */
  async refresh(connection: DuckDBConnection, epoch: number, checkpoint: Checkpoint): Promise<void> {
    const id = this.#config.id;
    const { results, lostCounted } = await checkpoint.readCounts(epoch, async (pending) => {
      // Records counted lost while the results are read are in neither: they are added from the intake.
      const lostCounted = this.#inputs.lostCounted();
      return { results: await epochResults(connection, id, epoch, this.#noise, pending), lostCounted };
    });
    this.#closedWindows = results.closedWindows;
    const noise = new Set(results.noise?.map((f) => f.path));
    this.#counts = results.counts;
    const { lostLive = 0, lostCandidate = 0, lostControl = 0 } = results.counts;
    this.#lostBefore = lostLive + lostCandidate + lostControl - lostCounted;
    this.#fields = Object.fromEntries(
      results.fields.filter((f) => !noise.has(f.path)).map((f) => [f.path, f.different]),
    );
    this.judge();
    // The counters follow the stored totals, so they say what the summary says (noise included).
    this.#metrics.setOutcomes(id, results.counts);
    this.#metrics.setFieldDifferences(id, results.fields);
    if (results.noise) this.#metrics.setNoiseFields(id, [...noise]);
  }

  /** Judges again from the last results read, and publishes the verdict. */
  judge(): VerdictBody {
    const lag = this.#inputs.lagSeconds();
    this.#verdict = evaluateVerdict({
      comparison: this.#config.id,
      policy: this.#config.verdict,
      counts: this.#counts,
      fieldDifferences: this.#fields,
      ...(lag === undefined ? {} : { lagSeconds: lag }),
      complete: this.#inputs.complete(),
      lost: this.#lostBefore + this.#inputs.lostCounted(),
      misrouted: this.#counts.misroutedLive ?? 0,
      ...scopeOfVerdict(this.#config.scope, this.#counts),
    });
    this.#metrics.setVerdict(this.#config.id, this.#verdict);
    return this.#verdict;
  }
}
