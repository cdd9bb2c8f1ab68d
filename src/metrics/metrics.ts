import { Counter, collectDefaultMetrics, Gauge, Histogram, type Registry } from 'prom-client';
import { SIDES, type Side } from '../config/schema.js';
import type { DifferenceKind } from '../diff/compare.js';
import type { FieldStats } from '../diff/engine.js';
import { type OutcomeCounts, type Verdict, type VerdictBody, verdictCode } from '../verdict/verdict.js';
import { FieldLabels } from './field-labels.js';

/** How often the default metrics' event-loop lag histogram samples the loop (ms). */
const EVENT_LOOP_SAMPLE_MS = 100;

/**
 * Every series the service exports (SPEC §6), besides prom-client's default process metrics.
 * `noise_fields` and `decode_errors_total` go beyond the SPEC list; the dashboard reads them.
 */
const NAMES = {
  records: 'shadowdiff_records_total',
  outcomes: 'shadowdiff_outcomes_total',
  fieldDifferences: 'shadowdiff_field_differences_total',
  mismatchRate: 'shadowdiff_mismatch_rate',
  verdictCode: 'shadowdiff_verdict_code',
  verdict: 'shadowdiff_verdict',
  watermark: 'shadowdiff_watermark_seconds',
  lag: 'shadowdiff_lag_seconds',
  consumerLag: 'shadowdiff_consumer_lag_messages',
  openWindows: 'shadowdiff_open_windows',
  windowsClosed: 'shadowdiff_windows_closed_total',
  windowDiff: 'shadowdiff_window_diff_seconds',
  sampleRate: 'shadowdiff_sample_rate',
  noiseFields: 'shadowdiff_noise_fields',
  decodeErrors: 'shadowdiff_decode_errors_total',
} as const;

export const METRIC_NAMES: readonly string[] = Object.values(NAMES);

export type RecordStatus =
  | 'accepted'
  | 'sampled_out'
  | 'invalid'
  | 'late'
  | 'duplicate'
  | 'lost'
  | 'misrouted'
  | 'out_of_scope'
  | 'unexpected';
export const RECORD_STATUSES: readonly RecordStatus[] = [
  'accepted',
  'sampled_out',
  'invalid',
  'late',
  'duplicate',
  'lost',
  'misrouted',
  'out_of_scope',
  'unexpected',
];

const OUTCOMES: readonly (keyof OutcomeCounts)[] = ['equal', 'different', 'missing', 'extra'];
const KINDS: readonly DifferenceKind[] = ['value', 'type', 'missing', 'extra'];
const VERDICTS: readonly Verdict[] = ['PASS', 'INCONCLUSIVE', 'FAIL'];
const BOUNDS = ['estimate', 'lower', 'upper'] as const;

/** Seconds a window diff takes in DuckDB: milliseconds for small windows, a minute at worst. */
const WINDOW_DIFF_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** What `setVerdict` reads of a verdict body. */
export type VerdictGauges = Pick<VerdictBody, 'verdict'> & {
  stats: Pick<VerdictBody['stats'], 'rate' | 'lower' | 'upper'>;
};

export interface ShadowdiffMetricsOptions {
  /** `metrics.maxFieldLabels` of the config: distinct `field` labels per comparison. */
  maxFieldLabels: number;
}

/** What a comparison has labelled beyond the fixed label sets, so removal can find every series. */
interface ComparisonSeries {
  fields: FieldLabels;
  noise: Set<string>;
  decodeReasons: Set<string>;
  /** What the counters that follow stored totals show, by their labels (`follow`). */
  published: Map<string, number>;
}

/** Sets a counter series to a total: adds what it grew by, or restarts the series when it shrank. */
function follow<L extends string>(
  counter: Counter<L>,
  published: Map<string, number>,
  labels: Record<L, string>,
  total: number,
): void {
  const key = JSON.stringify(labels);
  const shown = published.get(key) ?? 0;
  if (total < shown) {
    counter.remove(labels);
    counter.inc(labels, total);
  } else if (total > shown) {
    counter.inc(labels, total - shown);
  }
  published.set(key, total);
}

/**
 * Owns the `shadowdiff_*` series of a prom-client registry. Updates for a comparison that is not
 * registered are ignored: a pipeline still draining after `DELETE` must not bring back the series
 * its removal deleted.
 */
export class ShadowdiffMetrics {
  readonly #maxFieldLabels: number;
  readonly #comparisons = new Map<string, ComparisonSeries>();

  readonly #records: Counter<'comparison' | 'side' | 'status'>;
  readonly #outcomes: Counter<'comparison' | 'outcome'>;
  readonly #fieldDifferences: Counter<'comparison' | 'field' | 'kind'>;
  readonly #mismatchRate: Gauge<'comparison' | 'bound'>;
  readonly #verdictCode: Gauge<'comparison'>;
  readonly #verdict: Gauge<'comparison' | 'verdict'>;
  readonly #watermark: Gauge<'comparison' | 'side'>;
  readonly #lag: Gauge<'comparison' | 'side'>;
  readonly #consumerLag: Gauge<'comparison' | 'side'>;
  readonly #openWindows: Gauge<'comparison'>;
  readonly #windowsClosed: Counter<'comparison'>;
  readonly #windowDiff: Histogram<'comparison'>;
  readonly #sampleRate: Gauge<'comparison'>;
  readonly #noiseFields: Gauge<'comparison' | 'field'>;
  readonly #decodeErrors: Counter<'comparison' | 'side' | 'reason'>;

  constructor(registry: Registry, options: ShadowdiffMetricsOptions = { maxFieldLabels: 50 }) {
    this.#maxFieldLabels = options.maxFieldLabels;
    // The event-loop lag histogram samples every 100 ms, not prom-client's 10 ms: a timer 100 times
    // a second was most of what an idle service cost (issue "Cost at rest"); stalls that matter last longer.
    collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
    const registers = [registry];
    this.#records = new Counter({
      name: NAMES.records,
      help: 'Records consumed, by side and by what became of them (accepted, sampled_out, invalid, late, duplicate, lost, misrouted, out_of_scope, unexpected).',
      labelNames: ['comparison', 'side', 'status'],
      registers,
    });
    this.#outcomes = new Counter({
      name: NAMES.outcomes,
      help: "Aligned keys of the epoch's closed windows by outcome (equal, different, missing, extra), as the summary counts them: noise-only differences are equal.",
      labelNames: ['comparison', 'outcome'],
      registers,
    });
    this.#fieldDifferences = new Counter({
      name: NAMES.fieldDifferences,
      help: 'Field differences of the epoch\'s closed windows by canonical field path and kind; fields beyond metrics.maxFieldLabels fold into field="__other__".',
      labelNames: ['comparison', 'field', 'kind'],
      registers,
    });
    this.#mismatchRate = new Gauge({
      name: NAMES.mismatchRate,
      help: 'Mismatch rate of the current epoch: the estimate and the anytime-valid lower and upper bounds.',
      labelNames: ['comparison', 'bound'],
      registers,
    });
    this.#verdictCode = new Gauge({
      name: NAMES.verdictCode,
      help: 'Current verdict: 1 PASS, 0 INCONCLUSIVE, -1 FAIL.',
      labelNames: ['comparison'],
      registers,
    });
    this.#verdict = new Gauge({
      name: NAMES.verdict,
      help: 'Current verdict as a state set: 1 for the current verdict, 0 for the others.',
      labelNames: ['comparison', 'verdict'],
      registers,
    });
    this.#watermark = new Gauge({
      name: NAMES.watermark,
      help: 'Event-time watermark of each side, in seconds since the epoch (+Inf once a file source ended).',
      labelNames: ['comparison', 'side'],
      registers,
    });
    this.#lag = new Gauge({
      name: NAMES.lag,
      help: "How far each side's watermark trails live's, in seconds.",
      labelNames: ['comparison', 'side'],
      registers,
    });
    this.#consumerLag = new Gauge({
      name: NAMES.consumerLag,
      help: 'Kafka messages not yet consumed, summed over the partitions of each side.',
      labelNames: ['comparison', 'side'],
      registers,
    });
    this.#openWindows = new Gauge({
      name: NAMES.openWindows,
      help: 'Windows buffered and not yet closed.',
      labelNames: ['comparison'],
      registers,
    });
    this.#windowsClosed = new Counter({
      name: NAMES.windowsClosed,
      help: 'Windows closed and diffed.',
      labelNames: ['comparison'],
      registers,
    });
    this.#windowDiff = new Histogram({
      name: NAMES.windowDiff,
      help: 'Time to diff one closed window, in seconds.',
      labelNames: ['comparison'],
      buckets: WINDOW_DIFF_BUCKETS,
      registers,
    });
    this.#sampleRate = new Gauge({
      name: NAMES.sampleRate,
      help: 'Sampling rate in effect (lower than configured while adaptive sampling sheds load).',
      labelNames: ['comparison'],
      registers,
    });
    this.#noiseFields = new Gauge({
      name: NAMES.noiseFields,
      help: 'Fields whose differences are noise (the control side differs as often): 1 per field; __other__ counts the folded ones.',
      labelNames: ['comparison', 'field'],
      registers,
    });
    this.#decodeErrors = new Counter({
      name: NAMES.decodeErrors,
      help: 'Records that could not be decoded, by side and reason (malformed, not_object, oversized, unknown_schema, ...).',
      labelNames: ['comparison', 'side', 'reason'],
      registers,
    });
  }

  /**
   * Starts exporting a comparison. The verdict starts INCONCLUSIVE so `shadowdiff_verdict_code`
   * exists before the first window closes, and the counters start at 0 so `rate()` sees their
   * first increment. Registering a known comparison changes nothing.
   */
  registerComparison(id: string, sides: readonly Side[] = ['live', 'candidate']): void {
    if (this.#comparisons.has(id)) return;
    this.#comparisons.set(id, {
      fields: new FieldLabels(this.#maxFieldLabels),
      noise: new Set(),
      decodeReasons: new Set(),
      published: new Map(),
    });
    const comparison = id;
    this.#setVerdictState(comparison, 'INCONCLUSIVE');
    for (const side of sides) {
      for (const status of RECORD_STATUSES) this.#records.inc({ comparison, side, status }, 0);
    }
    for (const outcome of OUTCOMES) this.#outcomes.inc({ comparison, outcome }, 0);
    this.#windowsClosed.inc({ comparison }, 0);
    this.#openWindows.set({ comparison }, 0);
    this.#windowDiff.zero({ comparison });
  }

  /** Stops exporting a comparison: every series labelled with it is deleted. */
  removeComparison(id: string): void {
    const series = this.#comparisons.get(id);
    if (!series) return;
    this.#comparisons.delete(id);
    const comparison = id;
    for (const side of SIDES) {
      for (const status of RECORD_STATUSES) this.#records.remove({ comparison, side, status });
      for (const reason of series.decodeReasons) this.#decodeErrors.remove({ comparison, side, reason });
      this.#watermark.remove({ comparison, side });
      this.#lag.remove({ comparison, side });
      this.#consumerLag.remove({ comparison, side });
    }
    for (const outcome of OUTCOMES) this.#outcomes.remove({ comparison, outcome });
    for (const field of series.fields.values()) {
      for (const kind of KINDS) this.#fieldDifferences.remove({ comparison, field, kind });
    }
    for (const field of series.noise) this.#noiseFields.remove({ comparison, field });
    for (const bound of BOUNDS) this.#mismatchRate.remove({ comparison, bound });
    for (const verdict of VERDICTS) this.#verdict.remove({ comparison, verdict });
    this.#verdictCode.remove({ comparison });
    this.#openWindows.remove({ comparison });
    this.#windowsClosed.remove({ comparison });
    this.#windowDiff.remove({ comparison });
    this.#sampleRate.remove({ comparison });
  }

  addRecords(comparison: string, side: Side, status: RecordStatus, count = 1): void {
    if (!this.#comparisons.has(comparison) || count === 0) return;
    this.#records.inc({ comparison, side, status }, count);
  }

  /**
   * Outcome totals of the current epoch, as the summary counts them. A counter only grows, but a
   * total can shrink: a field recognised as noise moves its records from `different` to `equal`, a
   * reset starts a new epoch, retention drops old windows. Then the series restarts at the new
   * total, which Prometheus reads as a counter reset, so the counter never disagrees with the summary.
   */
  setOutcomes(comparison: string, counts: OutcomeCounts): void {
    const series = this.#comparisons.get(comparison);
    if (!series) return;
    for (const outcome of OUTCOMES) follow(this.#outcomes, series.published, { comparison, outcome }, counts[outcome]);
  }

  /** Field difference totals of the current epoch, as the summary's `fields`; restarts as `setOutcomes`. */
  setFieldDifferences(comparison: string, fields: readonly FieldStats[]): void {
    const series = this.#comparisons.get(comparison);
    if (!series) return;
    const labels = series.fields.assign(new Map(fields.map((f) => [f.path, f.different])));
    const totals = new Map<string, { field: string; kind: DifferenceKind; n: number }>();
    // Every series published before is set too: a field gone from the totals (new epoch) goes to 0.
    for (const field of series.fields.values()) {
      for (const kind of KINDS) totals.set(`${field}\u0000${kind}`, { field, kind, n: 0 });
    }
    for (const { path, kinds } of fields) {
      const field = labels.get(path) as string;
      for (const kind of KINDS) (totals.get(`${field}\u0000${kind}`) as { n: number }).n += kinds[kind];
    }
    for (const { field, kind, n } of totals.values()) {
      const labelSet = { comparison, field, kind };
      if (n > 0 || series.published.has(JSON.stringify(labelSet))) {
        follow(this.#fieldDifferences, series.published, labelSet, n);
      }
    }
  }

  addDecodeErrors(comparison: string, side: Side, reason: string, count = 1): void {
    const series = this.#comparisons.get(comparison);
    if (!series || count === 0) return;
    series.decodeReasons.add(reason);
    this.#decodeErrors.inc({ comparison, side, reason }, count);
  }

  setVerdict(comparison: string, body: VerdictGauges): void {
    if (!this.#comparisons.has(comparison)) return;
    this.#setVerdictState(comparison, body.verdict);
    this.#mismatchRate.set({ comparison, bound: 'estimate' }, body.stats.rate);
    this.#mismatchRate.set({ comparison, bound: 'lower' }, body.stats.lower);
    this.#mismatchRate.set({ comparison, bound: 'upper' }, body.stats.upper);
  }

  /** `eventTimeMs` in ms since the epoch, as watermarks are kept; Infinity at end of input. */
  setWatermark(comparison: string, side: Side, eventTimeMs: number): void {
    if (!this.#comparisons.has(comparison)) return;
    this.#watermark.set({ comparison, side }, eventTimeMs / 1000);
  }

  setLag(comparison: string, side: Side, seconds: number): void {
    if (!this.#comparisons.has(comparison)) return;
    this.#lag.set({ comparison, side }, seconds);
  }

  setConsumerLag(comparison: string, side: Side, messages: number): void {
    if (!this.#comparisons.has(comparison)) return;
    this.#consumerLag.set({ comparison, side }, messages);
  }

  /** One window closed; `diffSeconds` is how long its diff took. */
  windowClosed(comparison: string, diffSeconds: number): void {
    if (!this.#comparisons.has(comparison)) return;
    this.#windowsClosed.inc({ comparison });
    this.#windowDiff.observe({ comparison }, diffSeconds);
  }

  setOpenWindows(comparison: string, count: number): void {
    if (!this.#comparisons.has(comparison)) return;
    this.#openWindows.set({ comparison }, count);
  }

  setSampleRate(comparison: string, rate: number): void {
    if (!this.#comparisons.has(comparison)) return;
    this.#sampleRate.set({ comparison }, rate);
  }

  /** Replaces the noise fields of a comparison; fields no longer noise disappear. */
  setNoiseFields(comparison: string, fields: readonly string[]): void {
    const series = this.#comparisons.get(comparison);
    if (!series) return;
    const perLabel = new Map<string, number>();
    for (const field of series.fields.assign(new Map(fields.map((f) => [f, 0]))).values()) {
      perLabel.set(field, (perLabel.get(field) ?? 0) + 1);
    }
    for (const field of series.noise) {
      if (!perLabel.has(field)) this.#noiseFields.remove({ comparison, field });
    }
    for (const [field, count] of perLabel) this.#noiseFields.set({ comparison, field }, count);
    series.noise = new Set(perLabel.keys());
  }

  #setVerdictState(comparison: string, current: Verdict): void {
    this.#verdictCode.set({ comparison }, verdictCode(current));
    for (const verdict of VERDICTS) this.#verdict.set({ comparison, verdict }, verdict === current ? 1 : 0);
  }
}
