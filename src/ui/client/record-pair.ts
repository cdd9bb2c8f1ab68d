import type { Formats } from '../view/format.js';
import type { Sample } from '../view/model.js';
import { ApiError } from './api.js';
import { fill, h } from './dom.js';
import { recordTree, wholePairTrees } from './tree.js';

/**
 * The whole record pair behind one example, in a modal dialog: live and candidate side by side
 * (stacked on narrow screens), every differing path marked, with the key, window and source
 * positions. Opened from the page's URL fragment, so a link to it can be shared; Escape or the
 * close button closes it and puts the fragment back to the page's own.
 */
export interface RecordPairDialog {
  /** Shows the example `id` (loaded by `load`); undefined closes the dialog. */
  show(id: string | undefined): void;
}

function facts(sample: Sample, format: Formats): HTMLElement {
  const rows: [string, string][] = [];
  if (sample.key !== undefined) rows.push(['key', sample.key]);
  if (sample.window !== undefined) rows.push(['window', format.time(new Date(sample.window).toISOString())]);
  for (const [side, at] of Object.entries(sample.position ?? {})) rows.push([`${side} at`, at]);
  if (sample.pair !== undefined && sample.pair.fields.length > 0)
    rows.push(['differs in', sample.pair.fields.join(', ')]);
  return h(
    'dl',
    { class: 'facts', 'data-testid': 'pair-facts' },
    rows.map(([name, value]) => [h('dt', {}, name), h('dd', { 'data-fact': name }, value)]),
  );
}

function body(sample: Sample): HTMLElement {
  const absent = (side: string) => h('p', { class: 'absent' }, `${side}: no record with this key`);
  switch (sample.outcome) {
    case 'different':
      if (sample.pair?.omitted !== undefined || sample.pair === undefined) {
        return h(
          'p',
          { role: 'note' },
          `The whole records were not kept (${sample.pair?.omitted ?? 'stored before records were kept'}); the example shows the field's values.`,
        );
      }
      return wholePairTrees(sample.pair.live, sample.pair.candidate, sample.pair.fields);
    case 'missing':
      return h('div', { class: 'pair trees' }, recordTree('live', sample.live), absent('candidate'));
    case 'extra':
      return h('div', { class: 'pair trees' }, absent('live'), recordTree('candidate', sample.candidate));
    default:
      return h(
        'div',
        {},
        h('p', {}, `${sample.side ?? 'a'} record could not be used: `, h('strong', {}, sample.reason ?? 'invalid')),
        sample.raw !== undefined ? h('pre', { class: 'raw', 'data-testid': 'pair-raw' }, sample.raw) : null,
        h(
          'p',
          { class: 'muted' },
          'An invalid record has no key, so it is not paired with a record of the other side.',
        ),
      );
  }
}

export function recordPairDialog(
  load: (id: string) => Promise<Sample | undefined>,
  format: Formats,
  closedHash: () => string,
): { element: HTMLDialogElement; dialog: RecordPairDialog } {
  const content = h('div', { 'aria-live': 'polite' });
  const heading = h('h2', { id: 'pair-heading' }, 'Record pair');
  const element = h(
    'dialog',
    { class: 'record-pair', 'aria-labelledby': 'pair-heading', 'data-testid': 'record-pair' },
    h(
      'div',
      { class: 'dialog-head' },
      heading,
      h('button', { type: 'button', 'data-testid': 'close-pair', onclick: () => element.close() }, 'Close'),
    ),
    content,
  );
  let shown: string | undefined;
  element.addEventListener('close', () => {
    shown = undefined;
    // The fragment names the open pair: closing returns it to the page's own, as a link would.
    if (/\/samples\/|^#samples\//.test(window.location.hash)) {
      history.replaceState(null, '', closedHash());
    }
  });
  const show = async (id: string | undefined) => {
    if (id === undefined) {
      if (element.open) element.close();
      return;
    }
    if (id === shown && element.open) return;
    shown = id;
    fill(heading, 'Record pair');
    fill(content, h('p', { class: 'muted' }, 'Loading…'));
    if (!element.open) element.showModal();
    try {
      const sample = await load(id);
      if (shown !== id) return;
      if (sample === undefined) {
        fill(content, h('p', { role: 'alert' }, 'No such example: it may have been reset or expired.'));
        return;
      }
      fill(heading, sample.outcome === 'different' ? 'Record pair' : `Record pair: ${sample.outcome} record`);
      fill(content, facts(sample, format), body(sample));
    } catch (error) {
      if (shown !== id) return;
      const message =
        error instanceof ApiError && error.status === 401
          ? 'Records are behind the read token: enter it under Examples, then open the pair again.'
          : error instanceof ApiError && error.status === 404
            ? 'No such example: it may have been reset or expired.'
            : `The pair could not be loaded: ${(error as Error).message}`;
      fill(content, h('p', { role: 'alert' }, message));
    }
  };
  return { element, dialog: { show: (id) => void show(id) } };
}
