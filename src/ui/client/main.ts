import { type ComparisonPage, comparisonPage } from './comparison.js';
import { listPage } from './list.js';
import { embeddedReport, reportSource, serviceSource } from './sources.js';

/**
 * Boots the page: a `--html` report renders its embedded batch diff; the service's page routes by
 * its hash (`#/comparisons/<id>`, `…/samples/<sampleId>` for an example's record pair), so
 * navigation never reloads it and the read token held in memory stays for the tab's life.
 */
const DEFAULT_REFRESH_MS = 5000;

function refreshMs(): number {
  const asked = Number(new URLSearchParams(window.location.search).get('refresh'));
  return Number.isFinite(asked) && asked >= 250 ? asked : DEFAULT_REFRESH_MS;
}

/** `#samples/<id>` in a report, `#/comparisons/<id>/samples/<sampleId>` on the service's page. */
function sampleIn(fragment: string | undefined): string | undefined {
  return fragment === undefined ? undefined : decodeURIComponent(fragment);
}

function boot(): void {
  const root = document.getElementById('app') as HTMLElement;
  const embedded = document.getElementById('report-data');
  if (embedded !== null) {
    const report = embeddedReport(embedded);
    document.title = `shadowdiff report: ${report.result.comparison} ${report.result.verdict.verdict}`;
    const page = comparisonPage(root, report.result.comparison, reportSource(report), 0, () => {});
    const open = () => page.showSample(sampleIn(/^#samples\/([^/]+)$/.exec(window.location.hash)?.[1]));
    window.addEventListener('hashchange', open);
    open();
    return;
  }
  let stop = () => {};
  let shown: { id: string; page: ComparisonPage } | undefined;
  const route = () => {
    const match = /^#\/comparisons\/([^/]+)(?:\/samples\/([^/]+))?$/.exec(window.location.hash);
    const id = match ? decodeURIComponent(match[1]!) : undefined;
    const sample = sampleIn(match?.[2]);
    // Opening or closing a record pair keeps the comparison's page as it is.
    if (id !== undefined && shown?.id === id) {
      shown.page.showSample(sample);
      return;
    }
    stop();
    shown = undefined;
    if (id !== undefined) {
      document.title = `shadowdiff: ${id}`;
      const page = comparisonPage(root, id, serviceSource(id), refreshMs(), () => {
        window.location.hash = '#/';
      });
      shown = { id, page };
      stop = page.stop;
      page.showSample(sample);
    } else {
      document.title = 'shadowdiff';
      stop = listPage(root, refreshMs());
    }
    window.scrollTo(0, 0);
  };
  window.addEventListener('hashchange', route);
  route();
}

boot();
