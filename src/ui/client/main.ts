import { comparisonPage } from './comparison.js';
import { listPage } from './list.js';
import { embeddedReport, reportSource, serviceSource } from './sources.js';

/**
 * Boots the page: a `--html` report renders its embedded batch diff; the service's page routes by
 * its hash (`#/comparisons/<id>`), so navigation never reloads it and the read token held in
 * memory stays for the tab's life.
 */
const DEFAULT_REFRESH_MS = 5000;

function refreshMs(): number {
  const asked = Number(new URLSearchParams(window.location.search).get('refresh'));
  return Number.isFinite(asked) && asked >= 250 ? asked : DEFAULT_REFRESH_MS;
}

function boot(): void {
  const root = document.getElementById('app') as HTMLElement;
  const embedded = document.getElementById('report-data');
  if (embedded !== null) {
    const report = embeddedReport(embedded);
    document.title = `shadowdiff report: ${report.result.comparison} ${report.result.verdict.verdict}`;
    comparisonPage(root, report.result.comparison, reportSource(report), 0, () => {});
    return;
  }
  let stop = () => {};
  const route = () => {
    stop();
    const match = /^#\/comparisons\/(.+)$/.exec(window.location.hash);
    if (match) {
      const id = decodeURIComponent(match[1]!);
      document.title = `shadowdiff: ${id}`;
      stop = comparisonPage(root, id, serviceSource(id), refreshMs(), () => {
        window.location.hash = '#/';
      });
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
