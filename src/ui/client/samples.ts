import type { Formats } from '../view/format.js';
import type { Sample } from '../view/model.js';
import { ApiError, setReadToken } from './api.js';
import { fill, h } from './dom.js';
import { pairTrees, recordTree } from './tree.js';

export interface SampleQuery {
  field?: string | undefined;
  outcome?: Sample['outcome'] | undefined;
  noise: 'include' | 'exclude' | 'only';
  limit: number;
}

export type SampleLoader = (query: SampleQuery) => Promise<Sample[]>;

export type SampleView =
  | { kind: 'field'; field: string }
  | { kind: 'outcome'; outcome: 'missing' | 'extra' | 'invalid' };

const LIMIT = 10;

function meta(sample: Sample): HTMLElement {
  const facts = [
    sample.key !== undefined ? `key ${sample.key}` : '',
    sample.kind !== undefined ? `${sample.kind} difference` : '',
    ...Object.entries(sample.position ?? {}).map(([side, at]) => `${side} at ${at}`),
  ].filter(Boolean);
  return h('p', { class: 'meta' }, facts.join(' · '), sample.noise ? h('span', { class: 'tag' }, 'noise') : null);
}

/** The link to an example's whole record pair: a fragment, so it can be shared and needs no reload. */
function pairLink(sample: Sample, pairHref: (id: string) => string): HTMLElement | null {
  if (sample.id === undefined) return null;
  return h(
    'p',
    { class: 'pair-link' },
    h(
      'a',
      { href: pairHref(sample.id), 'data-testid': 'open-pair', 'data-sample': sample.id },
      'Open the full record pair',
      sample.key !== undefined ? h('span', { class: 'visually-hidden' }, ` of key ${sample.key}`) : null,
    ),
  );
}

function renderSample(sample: Sample, pairHref: (id: string) => string): HTMLElement {
  const body =
    sample.outcome === 'different'
      ? pairTrees(sample.field, sample.live, sample.candidate)
      : sample.outcome === 'missing'
        ? h(
            'div',
            { class: 'pair trees' },
            recordTree('live', sample.live),
            h('p', { class: 'absent' }, 'candidate: no record with this key'),
          )
        : sample.outcome === 'extra'
          ? h(
              'div',
              { class: 'pair trees' },
              h('p', { class: 'absent' }, 'live: no record with this key'),
              recordTree('candidate', sample.candidate),
            )
          : h(
              'div',
              {},
              h(
                'p',
                {},
                `${sample.side ?? 'a'} record could not be used: `,
                h('strong', {}, sample.reason ?? 'invalid'),
              ),
              sample.raw !== undefined ? h('pre', { class: 'raw' }, sample.raw) : null,
            );
  return h(
    'article',
    { class: `sample sample-${sample.outcome}`, 'data-testid': 'sample' },
    meta(sample),
    body,
    pairLink(sample, pairHref),
  );
}

/** The read-token form: asked once, kept in this tab's memory only (api.ts). */
function tokenForm(wrong: boolean, retry: () => void): HTMLElement {
  const input = h('input', { type: 'password', id: 'read-token', autocomplete: 'off', required: true });
  return h(
    'form',
    {
      class: 'token-form',
      'data-testid': 'read-token-form',
      onsubmit: (event: Event) => {
        event.preventDefault();
        setReadToken(input.value);
        retry();
      },
    },
    h(
      'p',
      {},
      wrong ? 'That token was not accepted. ' : '',
      'Records are behind the read token (server.readToken). Counts and fields above stay visible without it.',
    ),
    h('label', { for: 'read-token' }, 'Read token'),
    input,
    h('button', { type: 'submit' }, 'Show records'),
  );
}

/** Examples of one field, or of missing, extra or invalid records, loaded when asked for. */
export function samplesSection(
  view: SampleView | undefined,
  hideNoise: boolean,
  load: SampleLoader,
  format: Formats,
  choose: (view: SampleView) => void,
  pairHref: (id: string) => string,
): HTMLElement {
  const content = h('div', { 'aria-live': 'polite', 'data-testid': 'samples' });
  const title =
    view === undefined
      ? 'Examples'
      : view.kind === 'field'
        ? `Examples of ${view.field}`
        : `Examples: ${view.outcome} records`;
  const show = async (wrongToken = false) => {
    if (view === undefined) {
      fill(content, h('p', {}, 'Choose a field above, or missing, extra or invalid records.'));
      return;
    }
    fill(content, h('p', { class: 'muted' }, 'Loading…'));
    const query: SampleQuery =
      view.kind === 'field'
        ? { field: view.field, outcome: 'different', noise: hideNoise ? 'exclude' : 'include', limit: LIMIT }
        : { outcome: view.outcome, noise: 'include', limit: LIMIT };
    try {
      const samples = await load(query);
      fill(
        content,
        samples.length === 0
          ? h('p', {}, 'No stored examples.')
          : samples.map((sample) => renderSample(sample, pairHref)),
        samples.length > 0
          ? h('p', { class: 'muted' }, `${format.count(samples.length)} shown (at most ${LIMIT}).`)
          : null,
      );
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        if (wrongToken) setReadToken(undefined);
        fill(
          content,
          tokenForm(wrongToken, () => void show(true)),
        );
        (content.querySelector('input') as HTMLInputElement | null)?.focus();
        return;
      }
      fill(content, h('p', { role: 'alert' }, `Examples could not be loaded: ${(error as Error).message}`));
    }
  };
  void show();
  const choice = (label: string, next: SampleView) =>
    h(
      'button',
      {
        type: 'button',
        'aria-pressed': String(
          view !== undefined && view.kind === next.kind && JSON.stringify(view) === JSON.stringify(next),
        ),
        onclick: () => choose(next),
      },
      label,
    );
  return h(
    'section',
    { 'aria-labelledby': 'samples-heading', id: 'samples' },
    h('h2', { id: 'samples-heading', tabindex: -1 }, title),
    h(
      'p',
      { class: 'toolbar' },
      choice('Missing records', { kind: 'outcome', outcome: 'missing' }),
      choice('Extra records', { kind: 'outcome', outcome: 'extra' }),
      choice('Invalid records', { kind: 'outcome', outcome: 'invalid' }),
    ),
    content,
  );
}
