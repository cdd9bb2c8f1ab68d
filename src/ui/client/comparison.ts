import { formats } from '../view/format.js';
import type { Detail, Sample, Summary, Verdict, WindowItem } from '../view/model.js';
import { comparisonAdmin } from './admin.js';
import { windowsSection } from './chart.js';
import { badge, type Child, fill, h, table } from './dom.js';
import { countsSection, fieldsSection } from './fields.js';
import { recordPairDialog } from './record-pair.js';
import { type SampleLoader, type SampleView, samplesSection } from './samples.js';
import { sidesSection } from './sides.js';
import { verdictSection } from './verdict-section.js';

/** Everything the comparison page shows; `detail` and `windows` only exist for a running service. */
export interface ComparisonData {
  id: string;
  minSamples: number;
  verdict: Verdict;
  summary: Summary;
  detail?: Detail;
  windows?: { total: number; items: WindowItem[] };
  invalidReasons?: Record<string, Record<string, number> | undefined>;
  /** A report's creation time. */
  generatedAt?: string;
}

export interface ComparisonSource {
  /** True for the running service: admin actions and live updates. */
  live: boolean;
  load(): Promise<ComparisonData>;
  samples: SampleLoader;
  /** One example with its whole record pair. */
  sample(id: string): Promise<Sample | undefined>;
  /** The page's own fragment, and the fragment that opens an example's record pair. */
  pageHash(): string;
  pairHref(id: string): string;
}

export interface ComparisonPage {
  stop(): void;
  /** Opens the record pair of an example (from the URL fragment); undefined closes it. */
  showSample(id: string | undefined): void;
}

const format = formats();

function invalidSection(reasons: NonNullable<ComparisonData['invalidReasons']>): HTMLElement | null {
  const rows = Object.entries(reasons).flatMap(([side, byReason]) =>
    Object.entries(byReason ?? {}).map(([reason, n]): Child[] => [side, reason, format.count(n)]),
  );
  if (rows.length === 0) return null;
  return h(
    'section',
    { 'aria-labelledby': 'invalid-heading' },
    h('h2', { id: 'invalid-heading' }, 'Invalid records by reason'),
    table('Invalid records by side and reason', ['side', 'reason', 'records'], rows),
  );
}

/**
 * The comparison page: verdict and evidence, the band over time, counts, fields, examples, sources.
 * A running comparison is polled every `refreshMs`; sections are redrawn only when their data
 * changed, and the examples and forms not at all, so reading or typing is never interrupted.
 */
export function comparisonPage(
  root: HTMLElement,
  id: string,
  source: ComparisonSource,
  refreshMs: number,
  onGone: () => void,
): ComparisonPage {
  const state: { hideNoise: boolean; view?: SampleView } = { hideNoise: true };
  let data: ComparisonData | undefined;
  let lastText = '';
  let stopped = false;
  const header = h('header', { class: 'page-header' });
  // Verdict, band and fields first, then the examples, then the counts and sources behind them.
  const top = h('div');
  const rest = h('div');
  const samples = h('div');
  const error = h('p', { role: 'alert', class: 'error' });

  const renderSamples = () => {
    fill(
      samples,
      samplesSection(
        state.view,
        state.hideNoise,
        source.samples,
        format,
        (view) => {
          state.view = view;
          render();
          renderSamples();
          (samples.querySelector('#samples-heading') as HTMLElement | null)?.focus();
        },
        source.pairHref,
      ),
    );
  };
  const render = () => {
    if (data === undefined) return;
    const focused = document.activeElement;
    const focusKey = focused?.id || focused?.getAttribute('data-field');
    fill(
      header,
      source.live ? h('a', { href: '#/' }, '← All comparisons') : null,
      h('h1', {}, data.id, ' ', badge(data.verdict.verdict)),
      data.detail ? h('p', { class: 'muted' }, `State: ${data.detail.state}`) : null,
      data.generatedAt ? h('p', { class: 'muted' }, `Batch diff report, made ${format.time(data.generatedAt)}`) : null,
    );
    fill(
      top,
      h(
        'div',
        { class: 'columns' },
        verdictSection(data.verdict, data.minSamples, format),
        data.windows
          ? windowsSection(data.windows.items, data.windows.total, data.verdict.stats.tolerance, format)
          : null,
      ),
      fieldsSection(
        data.summary,
        { hideNoise: state.hideNoise, field: state.view?.kind === 'field' ? state.view.field : undefined },
        format,
        {
          setHideNoise(hide) {
            state.hideNoise = hide;
            render();
            renderSamples();
          },
          showField(path) {
            state.view = { kind: 'field', field: path };
            render();
            renderSamples();
            (samples.querySelector('#samples-heading') as HTMLElement | null)?.focus();
          },
        },
      ),
    );
    fill(
      rest,
      countsSection(data.summary.counts, format),
      data.invalidReasons ? invalidSection(data.invalidReasons) : null,
      data.detail ? sidesSection(data.detail, format) : null,
    );
    if (focusKey) {
      const again = document.getElementById(focusKey) ?? top.querySelector(`[data-field="${CSS.escape(focusKey)}"]`);
      if (again instanceof HTMLElement && !samples.contains(document.activeElement)) again.focus();
    }
  };
  const refresh = async () => {
    try {
      const next = await source.load();
      fill(error);
      const text = JSON.stringify({ ...next, verdict: { ...next.verdict, evaluatedAt: '' } });
      if (text === lastText) return;
      lastText = text;
      const first = data === undefined;
      data = next;
      render();
      // The reader sees an example pair at once: the field that differs most, noise aside.
      const lead = next.summary.fields.find((field) => !field.noise && field.different > 0);
      if (first && state.view === undefined && lead !== undefined) {
        state.view = { kind: 'field', field: lead.path };
        render();
        renderSamples();
      }
    } catch (failure) {
      const status = (failure as { status?: number }).status;
      if (status === 404) {
        onGone();
        return;
      }
      fill(error, `Could not refresh: ${(failure as Error).message}`);
    }
  };
  const tail = h('div');
  if (source.live) {
    fill(tail, comparisonAdmin(id, { reset: () => void refresh(), deleted: onGone }));
  }
  const pair = recordPairDialog(source.sample, format, source.pageHash);
  fill(root, header, error, top, samples, rest, tail, pair.element);
  renderSamples();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const loop = async () => {
    if (stopped) return;
    if (!document.hidden || data === undefined) await refresh();
    if (source.live && !stopped) timer = setTimeout(loop, refreshMs);
  };
  void loop();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
    showSample: pair.dialog.show,
  };
}
