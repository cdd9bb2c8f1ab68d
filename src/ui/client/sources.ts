import { parseJson } from '../view/json-tree.js';
import type { Detail, ReportData, Sample, Summary, Verdict, WindowItem } from '../view/model.js';
import { getJson, getRecords, paths } from './api.js';
import type { ComparisonData, ComparisonSource } from './comparison.js';

/** Windows the chart and table read: the band of the last ones is what a reader looks at. */
const WINDOWS = 500;

/** A comparison of the running service, read from the same JSON API the gates read. */
export function serviceSource(id: string): ComparisonSource {
  return {
    live: true,
    async load(): Promise<ComparisonData> {
      // Windows first: the verdict and counts, read after them, are then seldom older than the band.
      const windows = await getJson<{ total: number; items: WindowItem[] }>(paths.windows(id, WINDOWS));
      const [detail, verdict, summary] = await Promise.all([
        getJson<Detail>(paths.comparison(id)),
        getJson<Verdict>(paths.verdict(id)),
        getJson<Summary>(paths.summary(id)),
      ]);
      return { id, minSamples: detail.config.verdict?.minSamples ?? 0, verdict, summary, detail, windows };
    },
    async samples(query) {
      const { items } = await getRecords<{ items: Sample[] }>(paths.samples(id, { ...query }));
      return items;
    },
    sample: (sampleId) => getRecords<Sample>(paths.sample(id, sampleId)),
    pageHash: () => `#/comparisons/${encodeURIComponent(id)}`,
    pairHref: (sampleId) => `#/comparisons/${encodeURIComponent(id)}/samples/${encodeURIComponent(sampleId)}`,
  };
}

/** The data a `shadowdiff diff --html` report carries in the page itself. */
export function embeddedReport(element: HTMLElement): ReportData {
  return parseJson(element.textContent ?? '') as ReportData;
}

/** One batch diff, from the report's embedded data: the same page, no service behind it. */
export function reportSource(report: ReportData): ComparisonSource {
  const { result } = report;
  // Numbered in the report's order, so a fragment names the same example in every copy of the file.
  const numbered = result.samples.map((sample, i) => ({ ...sample, id: `r${i}` }));
  return {
    live: false,
    async load() {
      return {
        id: result.comparison,
        minSamples: report.minSamples,
        verdict: result.verdict,
        summary: { counts: result.counts, fields: result.fields, ...(result.noise ? { noise: result.noise } : {}) },
        invalidReasons: result.invalidReasons,
        generatedAt: report.generatedAt,
        ...(result.windows ? { windows: { total: result.windows.length, items: result.windows } } : {}),
      };
    },
    async samples(query) {
      return numbered
        .filter(
          (s) =>
            (query.field === undefined || s.field === query.field) &&
            (query.outcome === undefined || s.outcome === query.outcome) &&
            (query.noise === 'include' || (query.noise === 'only') === (s.noise === true)),
        )
        .slice(0, query.limit);
    },
    sample: async (sampleId) => numbered.find((sample) => sample.id === sampleId),
    pageHash: () => '#',
    pairHref: (sampleId) => `#samples/${encodeURIComponent(sampleId)}`,
  };
}
