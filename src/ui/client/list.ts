import { formats } from '../view/format.js';
import type { Detail } from '../view/model.js';
import { createForm } from './admin.js';
import { getJson, paths } from './api.js';
import { badge, fill, h, table } from './dom.js';

interface ListItem {
  id: string;
  state: string;
  verdict: string;
  error?: string;
}

const format = formats();

/** Links stay in the page (hash routes), so the read token held in memory survives navigation. */
export const comparisonHref = (id: string) => `#/comparisons/${encodeURIComponent(id)}`;

function lagOf(detail: Detail | undefined): string {
  const candidate = detail?.runtime.sides.candidate;
  if (candidate === undefined) return '–';
  return candidate.endOfInput ? 'end of input' : format.seconds(candidate.lagSeconds);
}

/** Every comparison with its verdict, state and the candidate's lag; polled every `refreshMs`. */
export function listPage(root: HTMLElement, refreshMs: number): () => void {
  const content = h('div', { 'aria-live': 'polite' });
  let lastText = '';
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const refresh = async () => {
    try {
      const { items } = await getJson<{ items: ListItem[] }>(paths.comparisons);
      const details = await Promise.all(
        items.map((item) => getJson<Detail>(paths.comparison(item.id)).catch(() => undefined)),
      );
      const text = JSON.stringify([items, details.map((d) => d?.runtime.sides)]);
      if (text === lastText) return;
      lastText = text;
      fill(
        content,
        items.length === 0
          ? h('p', {}, 'No comparisons run yet. Add them to the config file, or create one below.')
          : table(
              'Comparisons',
              ['comparison', 'verdict', 'state', 'candidate lag'],
              items.map((item, i) => [
                h('a', { href: comparisonHref(item.id) }, item.id),
                badge(item.verdict),
                item.error ? `${item.state}: ${item.error}` : item.state,
                lagOf(details[i]),
              ]),
              { 'data-testid': 'comparisons' },
            ),
      );
    } catch (error) {
      fill(content, h('p', { role: 'alert' }, `Could not load the comparisons: ${(error as Error).message}`));
    }
  };
  fill(
    root,
    h('header', { class: 'page-header' }, h('h1', {}, 'shadowdiff comparisons')),
    content,
    createForm((id) => {
      window.location.hash = comparisonHref(id);
    }),
  );
  const loop = async () => {
    if (stopped) return;
    if (!document.hidden || lastText === '') await refresh();
    if (!stopped) timer = setTimeout(loop, refreshMs);
  };
  void loop();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
