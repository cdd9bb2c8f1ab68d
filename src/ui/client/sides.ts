import type { Formats } from '../view/format.js';
import type { Detail } from '../view/model.js';
import { h, table } from './dom.js';

/** Watermarks and lag per side, windows open and closed, the epoch: is the comparison keeping up? */
export function sidesSection(detail: Detail, format: Formats): HTMLElement {
  const { runtime } = detail;
  const sides = Object.entries(runtime.sides).flatMap(([name, side]) =>
    side === undefined ? [] : [[name, side] as const],
  );
  return h(
    'section',
    { 'aria-labelledby': 'sides-heading' },
    h('h2', { id: 'sides-heading' }, 'Sources and windows'),
    table(
      'Watermarks and lag per side',
      ['side', 'watermark', 'lag behind live', 'messages not consumed', 'connection'],
      sides.map(([name, side]) => [
        name,
        side.endOfInput ? 'end of input' : format.time(side.watermark),
        format.seconds(side.lagSeconds),
        side.consumerLag === null ? '–' : format.count(side.consumerLag),
        side.connected ? 'connected' : `not connected${side.error ? `: ${side.error}` : ''}`,
      ]),
      { 'data-testid': 'sides-table' },
    ),
    h(
      'dl',
      { class: 'evidence', 'data-testid': 'window-state' },
      h(
        'div',
        {},
        h('dt', {}, 'Open windows'),
        h('dd', { 'data-testid': 'open-windows' }, format.count(runtime.openWindows)),
      ),
      h(
        'div',
        {},
        h('dt', {}, 'Closed windows'),
        h('dd', { 'data-testid': 'closed-windows' }, format.count(runtime.closedWindows)),
      ),
      h(
        'div',
        {},
        h('dt', {}, 'Epoch'),
        h('dd', { 'data-testid': 'epoch' }, `${runtime.epoch}, since ${format.time(runtime.epochStartedAt)}`),
      ),
      h('div', {}, h('dt', {}, 'Sample rate'), h('dd', {}, format.percent(runtime.sampleRate))),
    ),
    runtime.error ? h('p', { role: 'alert' }, runtime.error) : null,
  );
}
