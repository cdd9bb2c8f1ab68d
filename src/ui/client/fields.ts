import type { Formats } from '../view/format.js';
import { type Field, noiseShare, type Summary } from '../view/model.js';
import { h, table } from './dom.js';

export interface FieldsState {
  hideNoise: boolean;
  field?: string | undefined;
}

const KINDS = ['value', 'type', 'missing', 'extra'] as const;

/** Records per side and outcomes, as the batch output counts them. */
export function countsSection(counts: Record<string, number>, format: Formats): HTMLElement {
  const sides = ['live', 'candidate', ...(counts.control !== undefined ? ['control'] : [])];
  const suffix = (side: string) => side[0]!.toUpperCase() + side.slice(1);
  const row = (label: string, name: string) => [
    label,
    ...sides.map((side) => {
      const value = counts[name === '' ? side : `${name}${suffix(side)}`];
      return value === undefined ? '–' : format.count(value);
    }),
  ];
  const outcomes = ['equal', 'different', 'missing', 'extra'] as const;
  const total = outcomes.reduce((sum, name) => sum + (counts[name] ?? 0), 0);
  return h(
    'section',
    { 'aria-labelledby': 'counts-heading' },
    h('h2', { id: 'counts-heading' }, 'Records and outcomes'),
    h(
      'div',
      { class: 'pair' },
      table(
        'Records per side',
        ['records', ...sides],
        [
          row('valid', ''),
          row('invalid', 'invalid'),
          row('duplicate', 'duplicate'),
          row('sampled out', 'sampledOut'),
          ...(counts.lateLive !== undefined ? [row('late', 'late'), row('pending', 'pending')] : []),
          // A scoped comparison (a canary's slice): the records outside it, per side.
          ...(counts.outOfScopeLive !== undefined
            ? [row('out of scope', 'outOfScope'), row('unexpected', 'unexpected')]
            : []),
        ],
      ),
      table(
        'Outcomes per key',
        ['outcome', 'keys', 'share'],
        outcomes.map((name) => [
          name,
          format.count(counts[name] ?? 0),
          total === 0 ? '–' : format.percent((counts[name] ?? 0) / total),
        ]),
        { 'data-testid': 'outcomes' },
      ),
    ),
    counts.noiseOnly
      ? h('p', {}, `${format.count(counts.noiseOnly)} records differ only in noise fields and count as equal.`)
      : null,
  );
}

/**
 * The fields table: how often each field differs and how, the share of that the control side shows
 * as noise, a switch to hide noise fields, and a button to a field's examples.
 */
export function fieldsSection(
  summary: Summary,
  state: FieldsState,
  format: Formats,
  actions: { setHideNoise(hide: boolean): void; showField(path: string): void },
): HTMLElement {
  const noisy = summary.fields.filter((f) => f.noise).length;
  const shown = summary.fields.filter((f) => !(state.hideNoise && f.noise));
  const switchInput = h('input', {
    type: 'checkbox',
    role: 'switch',
    id: 'hide-noise',
    checked: state.hideNoise,
    'aria-checked': String(state.hideNoise),
    onchange: (event: Event) => actions.setHideNoise((event.target as HTMLInputElement).checked),
  });
  const row = (field: Field) => {
    const share = noiseShare(field, summary.noise);
    return [
      h(
        'span',
        { class: field.noise ? 'path noise' : 'path' },
        field.path,
        field.noise ? h('span', { class: 'tag' }, 'noise') : null,
      ),
      format.count(field.different),
      KINDS.filter((kind) => (field.kinds[kind] ?? 0) > 0)
        .map((kind) => `${kind} ${format.count(field.kinds[kind] ?? 0)}`)
        .join(', '),
      share === undefined ? '–' : format.percent(share),
      h(
        'button',
        {
          type: 'button',
          'aria-pressed': String(state.field === field.path),
          'data-field': field.path,
          onclick: () => actions.showField(field.path),
        },
        'Examples',
        h('span', { class: 'visually-hidden' }, ` of ${field.path}`),
      ),
    ];
  };
  return h(
    'section',
    { 'aria-labelledby': 'fields-heading' },
    h('h2', { id: 'fields-heading' }, 'Fields that differ'),
    summary.fields.length === 0
      ? h('p', {}, 'No field differs between records that both sides have.')
      : [
          h(
            'p',
            { class: 'toolbar' },
            h(
              'label',
              { for: 'hide-noise', class: 'switch' },
              switchInput,
              ` Hide noise fields (${format.count(noisy)})`,
            ),
          ),
          table('Differing fields', ['field', 'records', 'kinds', 'noise share', 'examples'], shown.map(row), {
            'data-testid': 'fields-table',
          }),
        ],
  );
}
