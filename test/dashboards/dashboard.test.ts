import { readFileSync } from 'node:fs';
import { Registry } from 'prom-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { METRIC_NAMES, ShadowdiffMetrics } from '../../src/metrics/metrics.js';

interface Target {
  refId?: string;
  expr?: string;
  legendFormat?: string;
  datasource?: { type?: string; uid?: string };
}

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
  panels?: Panel[];
}

interface Variable {
  name: string;
  type: string;
  query: unknown;
  definition?: string;
  datasource?: { type?: string; uid?: string };
}

const read = (path: string) => readFileSync(new URL(`../../dashboards/${path}`, import.meta.url), 'utf8');
const dashboard = JSON.parse(read('shadowdiff.json'));
const topPanels: Panel[] = dashboard.panels;
const panels: Panel[] = topPanels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);
const queryPanels = panels.filter((panel) => panel.type !== 'row');
const targets = queryPanels.flatMap((panel) => (panel.targets ?? []).map((target) => ({ panel, target })));
const variables: Variable[] = dashboard.templating.list;

const HISTOGRAM_SUFFIX = /_(bucket|sum|count)$/;
const METRIC = /\bshadowdiff_[a-z_]+\b/g;

/**
 * What a real ShadowdiffMetrics exports after one comparison is registered and each kind of
 * update happened once: metric family → label names seen on its samples.
 */
async function exportedFamilies(): Promise<Map<string, Set<string>>> {
  const registry = new Registry();
  const metrics = new ShadowdiffMetrics(registry, { maxFieldLabels: 50 });
  const id = 'orders-v2';
  metrics.registerComparison(id, ['live', 'candidate', 'control']);
  metrics.addRecords(id, 'live', 'accepted', 10);
  metrics.setOutcomes(id, { equal: 9, different: 1, missing: 0, extra: 0 });
  metrics.setFieldDifferences(id, [
    { path: 'amount', different: 1, kinds: { value: 1, type: 0, missing: 0, extra: 0 } },
  ]);
  metrics.addDecodeErrors(id, 'candidate', 'malformed');
  metrics.setVerdict(id, { verdict: 'INCONCLUSIVE', stats: { rate: 0.1, lower: 0.01, upper: 0.4 } });
  metrics.setWatermark(id, 'live', Date.now());
  metrics.setLag(id, 'candidate', 3);
  metrics.setConsumerLag(id, 'candidate', 12);
  metrics.windowClosed(id, 0.2);
  metrics.setOpenWindows(id, 2);
  metrics.setSampleRate(id, 1);
  metrics.setNoiseFields(id, ['amount']);

  const families = new Map<string, Set<string>>();
  const types = new Map<string, string>();
  for (const line of (await registry.metrics()).split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1]!, type[2]!);
    const sample = /^(shadowdiff_[a-z_]+)\{([^}]*)\} /.exec(line);
    if (!sample) continue;
    const [, name, labels] = sample as unknown as [string, string, string];
    const family = types.get(name) ? name : name.replace(HISTOGRAM_SUFFIX, '');
    if (!line.includes(`comparison="${id}"`)) continue;
    const names = families.get(family) ?? new Set<string>();
    for (const [, label] of labels.matchAll(/([a-zA-Z_]+)="/g)) names.add(label!);
    families.set(family, names);
  }
  return families;
}

/** Metric families named in a query; `_bucket`/`_sum`/`_count` of a histogram count as the histogram. */
function metricsIn(expr: string, families: Map<string, Set<string>>): string[] {
  return [...expr.matchAll(METRIC)].map(([name]) =>
    families.has(name)
      ? name
      : families.has(name.replace(HISTOGRAM_SUFFIX, ''))
        ? name.replace(HISTOGRAM_SUFFIX, '')
        : name,
  );
}

describe('dashboards/shadowdiff.json', () => {
  let families: Map<string, Set<string>>;

  beforeAll(async () => {
    families = await exportedFamilies();
  });

  describe('queries', () => {
    it('has a query in every panel', () => {
      expect(queryPanels.length).toBeGreaterThanOrEqual(10);
      for (const panel of queryPanels) expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
    });

    it('names only metrics the service defines and exports', () => {
      const queries = [
        ...targets.map(({ target }) => target.expr ?? ''),
        ...variables.map((v) => (typeof v.query === 'string' ? v.query : JSON.stringify(v.query))),
      ];
      const used = new Set(queries.flatMap((expr) => metricsIn(expr, families)));
      expect(used.size).toBeGreaterThanOrEqual(12);
      for (const name of used) {
        expect(METRIC_NAMES, name).toContain(name);
        expect(families.has(name), `${name} is not in the registry output`).toBe(true);
      }
    });

    it('covers the series a reader needs', () => {
      const used = new Set(targets.flatMap(({ target }) => metricsIn(target.expr ?? '', families)));
      for (const name of [
        'shadowdiff_verdict_code',
        'shadowdiff_mismatch_rate',
        'shadowdiff_outcomes_total',
        'shadowdiff_field_differences_total',
        'shadowdiff_records_total',
        'shadowdiff_watermark_seconds',
        'shadowdiff_lag_seconds',
        'shadowdiff_window_diff_seconds',
        'shadowdiff_decode_errors_total',
        'shadowdiff_sample_rate',
        'shadowdiff_noise_fields',
      ]) {
        expect(used, name).toContain(name);
      }
    });

    it('filters every selector by the comparison variable', () => {
      for (const { panel, target } of targets) {
        const expr = target.expr ?? '';
        for (const match of expr.matchAll(METRIC)) {
          const selector = /^\{([^}]*)\}/.exec(expr.slice((match.index ?? 0) + match[0].length));
          expect(selector?.[1], `${panel.title}: ${match[0]}`).toContain('comparison=~"$comparison"');
        }
      }
    });

    it('groups and labels only by labels the series carry', () => {
      for (const { panel, target } of targets) {
        const expr = target.expr ?? '';
        const available = new Set(metricsIn(expr, families).flatMap((name) => [...(families.get(name) ?? [])]));
        const byLabels = [...expr.matchAll(/\bby \(([^)]*)\)/g)].flatMap(([, list]) => list!.split(/,\s*/));
        const legendLabels = [...(target.legendFormat ?? '').matchAll(/\{\{(\w+)\}\}/g)].map(([, label]) => label!);
        for (const label of [...byLabels, ...legendLabels]) {
          expect(available, `${panel.title}: ${label}`).toContain(label);
        }
      }
    });

    it('reads histogram quantiles from the bucket series', () => {
      const quantiles = targets
        .map(({ target }) => target.expr ?? '')
        .filter((expr) => expr.includes('histogram_quantile'));
      expect(quantiles.length).toBeGreaterThan(0);
      for (const expr of quantiles) expect(expr).toContain('shadowdiff_window_diff_seconds_bucket');
    });
  });

  describe('model', () => {
    it('has the top-level fields of the current schema', () => {
      expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(39);
      expect(dashboard.uid).toBe('shadowdiff');
      expect(dashboard.title).toBe('shadowdiff');
      for (const key of ['annotations', 'editable', 'panels', 'refresh', 'tags', 'templating', 'time', 'timepicker']) {
        expect(dashboard, key).toHaveProperty(key);
      }
      expect(dashboard.id).toBeNull();
    });

    it('gives every panel a unique integer id', () => {
      const ids = panels.map((panel) => panel.id);
      expect(ids.every(Number.isInteger)).toBe(true);
      expect(new Set(ids).size).toBe(ids.length);
    });

    it('keeps every panel inside the 24-column grid', () => {
      for (const { title, gridPos } of panels) {
        const { x, y, w, h } = gridPos;
        expect([x, y, w, h].every(Number.isInteger), title).toBe(true);
        expect(x, title).toBeGreaterThanOrEqual(0);
        expect(y, title).toBeGreaterThanOrEqual(0);
        expect(w, title).toBeGreaterThanOrEqual(1);
        expect(h, title).toBeGreaterThanOrEqual(1);
        expect(x + w, title).toBeLessThanOrEqual(24);
      }
    });

    it('does not overlap panels', () => {
      for (const [i, a] of panels.entries()) {
        for (const b of panels.slice(i + 1)) {
          const apart =
            a.gridPos.x + a.gridPos.w <= b.gridPos.x ||
            b.gridPos.x + b.gridPos.w <= a.gridPos.x ||
            a.gridPos.y + a.gridPos.h <= b.gridPos.y ||
            b.gridPos.y + b.gridPos.h <= a.gridPos.y;
          expect(apart, `${a.title} overlaps ${b.title}`).toBe(true);
        }
      }
    });

    it('declares the datasource and comparison variables', () => {
      const datasource = variables.find((v) => v.name === 'datasource');
      expect(datasource).toMatchObject({ type: 'datasource', query: 'prometheus' });
      const comparison = variables.find((v) => v.name === 'comparison');
      expect(comparison).toMatchObject({
        type: 'query',
        definition: 'label_values(shadowdiff_verdict_code, comparison)',
        datasource: { type: 'prometheus', uid: '${datasource}' },
        query: { query: 'label_values(shadowdiff_verdict_code, comparison)' },
      });
    });

    it('queries through the datasource variable with a refId on every target', () => {
      for (const panel of queryPanels) {
        expect(panel.datasource, panel.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
        const refIds = (panel.targets ?? []).map((target) => target.refId);
        expect(new Set(refIds).size, panel.title).toBe(refIds.length);
        for (const target of panel.targets ?? []) {
          expect(target.refId, panel.title).toMatch(/^[A-Z]$/);
          expect(target.datasource, panel.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
        }
      }
    });

    it('maps the verdict code to PASS, INCONCLUSIVE and FAIL', () => {
      const verdict = queryPanels.find((panel) => panel.title === 'Verdict') as Panel & {
        fieldConfig: {
          defaults: { mappings: { type: string; options: Record<string, { text: string; color: string }> }[] };
        };
      };
      expect(verdict.type).toBe('stat');
      const options = verdict.fieldConfig.defaults.mappings[0]?.options;
      expect(options?.['1']).toMatchObject({ text: 'PASS', color: 'green' });
      expect(options?.['0']).toMatchObject({ text: 'INCONCLUSIVE', color: 'yellow' });
      expect(options?.['-1']).toMatchObject({ text: 'FAIL', color: 'red' });
    });
  });
});

describe('dashboards/provisioning', () => {
  it('provisions the dashboard from files', () => {
    const provisioning = parseYaml(read('provisioning/dashboards.yaml'));
    expect(provisioning.apiVersion).toBe(1);
    expect(provisioning.providers).toHaveLength(1);
    expect(provisioning.providers[0]).toMatchObject({ type: 'file', options: { path: expect.any(String) } });
  });

  it('provisions a Prometheus data source', () => {
    const provisioning = parseYaml(read('provisioning/datasources.yaml'));
    expect(provisioning.apiVersion).toBe(1);
    expect(provisioning.datasources[0]).toMatchObject({ type: 'prometheus', access: 'proxy', url: expect.any(String) });
  });
});
