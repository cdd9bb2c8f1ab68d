import { Registry } from 'prom-client';
import { beforeEach, describe, expect, it } from 'vitest';
import type { FieldStats } from '../../src/diff/engine.js';
import { METRIC_NAMES, ShadowdiffMetrics } from '../../src/metrics/metrics.js';

const field = (path: string, different: number, kinds: Partial<FieldStats['kinds']> = {}): FieldStats => ({
  path,
  different,
  kinds: { value: 0, type: 0, missing: 0, extra: 0, ...kinds },
});

/** The sample lines of one metric, without HELP and TYPE. */
async function samples(registry: Registry, name: string): Promise<string[]> {
  const text = await registry.getSingleMetricAsString(name);
  return text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
}

describe('ShadowdiffMetrics', () => {
  let registry: Registry;
  let metrics: ShadowdiffMetrics;

  beforeEach(() => {
    registry = new Registry();
    metrics = new ShadowdiffMetrics(registry, { maxFieldLabels: 3 });
  });

  it('exports the verdict as INCONCLUSIVE from registration on', async () => {
    metrics.registerComparison('orders-v2');
    expect(await registry.getSingleMetricAsString('shadowdiff_verdict_code')).toBe(
      [
        '# HELP shadowdiff_verdict_code Current verdict: 1 PASS, 0 INCONCLUSIVE, -1 FAIL.',
        '# TYPE shadowdiff_verdict_code gauge',
        'shadowdiff_verdict_code{comparison="orders-v2"} 0',
      ].join('\n'),
    );
    expect(await samples(registry, 'shadowdiff_verdict')).toEqual([
      'shadowdiff_verdict{comparison="orders-v2",verdict="PASS"} 0',
      'shadowdiff_verdict{comparison="orders-v2",verdict="INCONCLUSIVE"} 1',
      'shadowdiff_verdict{comparison="orders-v2",verdict="FAIL"} 0',
    ]);
  });

  it('starts counters at zero for the registered sides', async () => {
    metrics.registerComparison('orders-v2', ['live', 'candidate']);
    const records = await samples(registry, 'shadowdiff_records_total');
    // 9 statuses per side, out_of_scope and unexpected (scoped comparisons) and misrouted (cluster mode) included.
    expect(records).toHaveLength(18);
    expect(records).toContain('shadowdiff_records_total{comparison="orders-v2",side="live",status="out_of_scope"} 0');
    expect(records).toContain('shadowdiff_records_total{comparison="orders-v2",side="candidate",status="late"} 0');
    expect(records).toContain('shadowdiff_records_total{comparison="orders-v2",side="live",status="lost"} 0');
    expect(await samples(registry, 'shadowdiff_outcomes_total')).toEqual([
      'shadowdiff_outcomes_total{comparison="orders-v2",outcome="equal"} 0',
      'shadowdiff_outcomes_total{comparison="orders-v2",outcome="different"} 0',
      'shadowdiff_outcomes_total{comparison="orders-v2",outcome="missing"} 0',
      'shadowdiff_outcomes_total{comparison="orders-v2",outcome="extra"} 0',
    ]);
    expect(await samples(registry, 'shadowdiff_windows_closed_total')).toEqual([
      'shadowdiff_windows_closed_total{comparison="orders-v2"} 0',
    ]);
    expect(await samples(registry, 'shadowdiff_open_windows')).toEqual([
      'shadowdiff_open_windows{comparison="orders-v2"} 0',
    ]);
  });

  it('counts records and outcomes', async () => {
    metrics.registerComparison('orders-v2');
    metrics.addRecords('orders-v2', 'live', 'accepted', 120);
    metrics.addRecords('orders-v2', 'live', 'accepted', 3);
    metrics.addRecords('orders-v2', 'candidate', 'invalid');
    metrics.setOutcomes('orders-v2', { equal: 95, different: 4, missing: 1, extra: 0 });
    metrics.setOutcomes('orders-v2', { equal: 100, different: 4, missing: 1, extra: 2 });
    const records = await samples(registry, 'shadowdiff_records_total');
    expect(records).toContain('shadowdiff_records_total{comparison="orders-v2",side="live",status="accepted"} 123');
    expect(records).toContain('shadowdiff_records_total{comparison="orders-v2",side="candidate",status="invalid"} 1');
    expect(await samples(registry, 'shadowdiff_outcomes_total')).toEqual([
      'shadowdiff_outcomes_total{comparison="orders-v2",outcome="equal"} 100',
      'shadowdiff_outcomes_total{comparison="orders-v2",outcome="different"} 4',
      'shadowdiff_outcomes_total{comparison="orders-v2",outcome="missing"} 1',
      'shadowdiff_outcomes_total{comparison="orders-v2",outcome="extra"} 2',
    ]);
  });

  it('restarts an outcome series whose total shrank: noise found later moves records to equal', async () => {
    metrics.registerComparison('orders-v2');
    metrics.setOutcomes('orders-v2', { equal: 10, different: 50, missing: 1, extra: 0 });
    metrics.setOutcomes('orders-v2', { equal: 58, different: 3, missing: 1, extra: 0 });
    expect(await samples(registry, 'shadowdiff_outcomes_total')).toEqual([
      'shadowdiff_outcomes_total{comparison="orders-v2",outcome="equal"} 58',
      'shadowdiff_outcomes_total{comparison="orders-v2",outcome="missing"} 1',
      'shadowdiff_outcomes_total{comparison="orders-v2",outcome="extra"} 0',
      'shadowdiff_outcomes_total{comparison="orders-v2",outcome="different"} 3',
    ]);
  });

  it('sets the verdict gauges and the mismatch bounds', async () => {
    metrics.registerComparison('orders-v2');
    metrics.setVerdict('orders-v2', { verdict: 'FAIL', stats: { rate: 0.04, lower: 0.021, upper: 0.07 } });
    expect(await samples(registry, 'shadowdiff_verdict_code')).toEqual([
      'shadowdiff_verdict_code{comparison="orders-v2"} -1',
    ]);
    expect(await samples(registry, 'shadowdiff_verdict')).toEqual([
      'shadowdiff_verdict{comparison="orders-v2",verdict="PASS"} 0',
      'shadowdiff_verdict{comparison="orders-v2",verdict="INCONCLUSIVE"} 0',
      'shadowdiff_verdict{comparison="orders-v2",verdict="FAIL"} 1',
    ]);
    expect(await samples(registry, 'shadowdiff_mismatch_rate')).toEqual([
      'shadowdiff_mismatch_rate{comparison="orders-v2",bound="estimate"} 0.04',
      'shadowdiff_mismatch_rate{comparison="orders-v2",bound="lower"} 0.021',
      'shadowdiff_mismatch_rate{comparison="orders-v2",bound="upper"} 0.07',
    ]);
    metrics.setVerdict('orders-v2', { verdict: 'PASS', stats: { rate: 0, lower: 0, upper: 0.0008 } });
    expect(await samples(registry, 'shadowdiff_verdict_code')).toEqual([
      'shadowdiff_verdict_code{comparison="orders-v2"} 1',
    ]);
  });

  it('exports watermarks in seconds, +Inf at end of input, and lag per side', async () => {
    metrics.registerComparison('orders-v2');
    metrics.setWatermark('orders-v2', 'live', 1_700_000_000_500);
    metrics.setWatermark('orders-v2', 'candidate', Number.POSITIVE_INFINITY);
    metrics.setLag('orders-v2', 'candidate', 12.5);
    metrics.setConsumerLag('orders-v2', 'candidate', 4096);
    expect(await samples(registry, 'shadowdiff_watermark_seconds')).toEqual([
      'shadowdiff_watermark_seconds{comparison="orders-v2",side="live"} 1700000000.5',
      'shadowdiff_watermark_seconds{comparison="orders-v2",side="candidate"} +Inf',
    ]);
    expect(await samples(registry, 'shadowdiff_lag_seconds')).toEqual([
      'shadowdiff_lag_seconds{comparison="orders-v2",side="candidate"} 12.5',
    ]);
    expect(await samples(registry, 'shadowdiff_consumer_lag_messages')).toEqual([
      'shadowdiff_consumer_lag_messages{comparison="orders-v2",side="candidate"} 4096',
    ]);
  });

  it('observes window diff durations in a histogram', async () => {
    metrics.registerComparison('orders-v2');
    metrics.windowClosed('orders-v2', 0.02);
    metrics.windowClosed('orders-v2', 3);
    metrics.setOpenWindows('orders-v2', 4);
    metrics.setSampleRate('orders-v2', 0.25);
    const histogram = await samples(registry, 'shadowdiff_window_diff_seconds');
    expect(histogram).toContain('shadowdiff_window_diff_seconds_bucket{le="0.01",comparison="orders-v2"} 0');
    expect(histogram).toContain('shadowdiff_window_diff_seconds_bucket{le="0.025",comparison="orders-v2"} 1');
    expect(histogram).toContain('shadowdiff_window_diff_seconds_bucket{le="2.5",comparison="orders-v2"} 1');
    expect(histogram).toContain('shadowdiff_window_diff_seconds_bucket{le="5",comparison="orders-v2"} 2');
    expect(histogram).toContain('shadowdiff_window_diff_seconds_bucket{le="+Inf",comparison="orders-v2"} 2');
    expect(histogram).toContain('shadowdiff_window_diff_seconds_sum{comparison="orders-v2"} 3.02');
    expect(histogram).toContain('shadowdiff_window_diff_seconds_count{comparison="orders-v2"} 2');
    expect(await samples(registry, 'shadowdiff_windows_closed_total')).toEqual([
      'shadowdiff_windows_closed_total{comparison="orders-v2"} 2',
    ]);
    expect(await samples(registry, 'shadowdiff_open_windows')).toEqual([
      'shadowdiff_open_windows{comparison="orders-v2"} 4',
    ]);
    expect(await samples(registry, 'shadowdiff_sample_rate')).toEqual([
      'shadowdiff_sample_rate{comparison="orders-v2"} 0.25',
    ]);
  });

  it('counts decode errors by side and reason', async () => {
    metrics.registerComparison('orders-v2');
    metrics.addDecodeErrors('orders-v2', 'candidate', 'malformed', 3);
    metrics.addDecodeErrors('orders-v2', 'candidate', 'unknown_schema');
    expect(await samples(registry, 'shadowdiff_decode_errors_total')).toEqual([
      'shadowdiff_decode_errors_total{comparison="orders-v2",side="candidate",reason="malformed"} 3',
      'shadowdiff_decode_errors_total{comparison="orders-v2",side="candidate",reason="unknown_schema"} 1',
    ]);
  });

  describe('field labels', () => {
    it('labels the top fields of the first batch and folds the rest into __other__', async () => {
      metrics.registerComparison('orders-v2');
      metrics.setFieldDifferences('orders-v2', [
        field('note', 1, { value: 1 }),
        field('amount', 40, { value: 38, type: 2 }),
        field('status', 7, { value: 7 }),
        field('items[].price', 12, { value: 12 }),
        field('customer.id', 3, { missing: 3 }),
      ]);
      expect(await samples(registry, 'shadowdiff_field_differences_total')).toEqual([
        'shadowdiff_field_differences_total{comparison="orders-v2",field="amount",kind="value"} 38',
        'shadowdiff_field_differences_total{comparison="orders-v2",field="amount",kind="type"} 2',
        'shadowdiff_field_differences_total{comparison="orders-v2",field="items[].price",kind="value"} 12',
        'shadowdiff_field_differences_total{comparison="orders-v2",field="status",kind="value"} 7',
        'shadowdiff_field_differences_total{comparison="orders-v2",field="__other__",kind="value"} 1',
        'shadowdiff_field_differences_total{comparison="orders-v2",field="__other__",kind="missing"} 3',
      ]);
    });

    it('keeps a label once given, even when a folded field later differs more', async () => {
      metrics.registerComparison('orders-v2');
      // Totals so far, as the runner sets them after each window close.
      const a = field('a', 5, { value: 5 });
      const b = field('b', 4, { value: 4 });
      const d = field('d', 2, { value: 2 });
      metrics.setFieldDifferences('orders-v2', [a, b]);
      metrics.setFieldDifferences('orders-v2', [a, b, field('c', 1, { value: 1 }), d]);
      // Slots are full (a, b, d): c folds, and stays folded even when it becomes the top field.
      metrics.setFieldDifferences('orders-v2', [field('c', 501, { value: 501 }), field('a', 6, { value: 6 }), b, d]);
      expect(await samples(registry, 'shadowdiff_field_differences_total')).toEqual([
        'shadowdiff_field_differences_total{comparison="orders-v2",field="a",kind="value"} 6',
        'shadowdiff_field_differences_total{comparison="orders-v2",field="b",kind="value"} 4',
        'shadowdiff_field_differences_total{comparison="orders-v2",field="d",kind="value"} 2',
        'shadowdiff_field_differences_total{comparison="orders-v2",field="__other__",kind="value"} 501',
      ]);
    });

    it('bounds labels per comparison, not per process', async () => {
      const many = Array.from({ length: 10 }, (_, i) => field(`f${i}`, 10 - i, { value: 10 - i }));
      metrics.registerComparison('one');
      metrics.registerComparison('two');
      metrics.setFieldDifferences('one', many);
      metrics.setFieldDifferences('two', many);
      const lines = await samples(registry, 'shadowdiff_field_differences_total');
      expect(lines).toHaveLength(8);
      expect(lines).toContain('shadowdiff_field_differences_total{comparison="two",field="f2",kind="value"} 8');
      expect(lines).toContain('shadowdiff_field_differences_total{comparison="two",field="__other__",kind="value"} 28');
    });

    it('marks noise fields, counts folded ones under __other__ and drops fields no longer noise', async () => {
      metrics.registerComparison('orders-v2');
      metrics.setFieldDifferences('orders-v2', [
        field('a', 3, { value: 3 }),
        field('b', 2, { value: 2 }),
        field('c', 1, { value: 1 }),
      ]);
      metrics.setNoiseFields('orders-v2', ['b', 'x', 'y']);
      expect(await samples(registry, 'shadowdiff_noise_fields')).toEqual([
        'shadowdiff_noise_fields{comparison="orders-v2",field="b"} 1',
        'shadowdiff_noise_fields{comparison="orders-v2",field="__other__"} 2',
      ]);
      metrics.setNoiseFields('orders-v2', ['c']);
      expect(await samples(registry, 'shadowdiff_noise_fields')).toEqual([
        'shadowdiff_noise_fields{comparison="orders-v2",field="c"} 1',
      ]);
    });
  });

  describe('removal', () => {
    it('deletes every series of the removed comparison and keeps the others', async () => {
      for (const id of ['orders-v2', 'payments']) {
        metrics.registerComparison(id, ['live', 'candidate', 'control']);
        metrics.addRecords(id, 'control', 'duplicate', 2);
        metrics.setOutcomes(id, { equal: 10, different: 1, missing: 0, extra: 0 });
        metrics.setFieldDifferences(id, [
          field('a', 1, { value: 1 }),
          field('b', 1, { type: 1 }),
          ...Array.from({ length: 5 }, (_, i) => field(`z${i}`, 1, { extra: 1 })),
        ]);
        metrics.addDecodeErrors(id, 'live', 'oversized');
        metrics.setVerdict(id, { verdict: 'PASS', stats: { rate: 0.01, lower: 0, upper: 0.02 } });
        metrics.setWatermark(id, 'control', 1000);
        metrics.setLag(id, 'control', 1);
        metrics.setConsumerLag(id, 'control', 1);
        metrics.windowClosed(id, 0.1);
        metrics.setOpenWindows(id, 1);
        metrics.setSampleRate(id, 1);
        metrics.setNoiseFields(id, ['a', 'q']);
      }
      metrics.removeComparison('orders-v2');
      const text = await registry.metrics();
      expect(text).not.toContain('comparison="orders-v2"');
      for (const name of METRIC_NAMES) {
        const exported = await registry.getSingleMetricAsString(name);
        expect(exported, name).toContain('comparison="payments"');
      }
    });

    it('ignores updates for a comparison that is not registered', async () => {
      metrics.registerComparison('orders-v2');
      metrics.removeComparison('orders-v2');
      metrics.addRecords('orders-v2', 'live', 'accepted', 5);
      metrics.setVerdict('orders-v2', { verdict: 'PASS', stats: { rate: 0, lower: 0, upper: 0 } });
      metrics.windowClosed('orders-v2', 1);
      metrics.setNoiseFields('orders-v2', ['a']);
      expect(await registry.metrics()).not.toContain('shadowdiff_records_total{');
      expect(await registry.metrics()).not.toContain('orders-v2');
    });

    it('registers again after removal, starting from zero', async () => {
      metrics.registerComparison('orders-v2');
      metrics.setOutcomes('orders-v2', { equal: 9, different: 0, missing: 0, extra: 0 });
      metrics.removeComparison('orders-v2');
      metrics.registerComparison('orders-v2');
      expect(await samples(registry, 'shadowdiff_outcomes_total')).toContain(
        'shadowdiff_outcomes_total{comparison="orders-v2",outcome="equal"} 0',
      );
    });
  });

  it('registers default process metrics and names every shadowdiff metric', async () => {
    const names = registry.getMetricsAsArray().map((metric) => metric.name);
    expect(names).toContain('process_cpu_user_seconds_total');
    expect(names).toContain('nodejs_eventloop_lag_seconds');
    expect(names.filter((name) => name.startsWith('shadowdiff_')).sort()).toEqual([...METRIC_NAMES].sort());
    expect(METRIC_NAMES).toHaveLength(15);
  });
});
