import { bandGeometry } from '../view/band.js';
import type { Formats } from '../view/format.js';
import type { WindowItem } from '../view/model.js';
import { h, svg, table } from './dom.js';

const WIDTH = 720;
const HEIGHT = 220;
const TABLE_ROWS = 50;

/**
 * The mismatch rate with its anytime-valid band after each closed window, against the tolerance,
 * and the outcomes per window. Each point carries its figures as data attributes, so what the
 * chart draws can be checked against the API.
 */
export function windowsSection(items: readonly WindowItem[], total: number, tolerance: number, format: Formats) {
  const points = items.map((w) => ({ at: Date.parse(w.end), ...w.mismatchRate }));
  const geometry = bandGeometry(points, tolerance, WIDTH, HEIGHT);
  const newest = items[0]?.mismatchRate;
  const description = newest
    ? `After ${format.count(items.length)} windows: rate ${format.percent(newest.rate)}, bounds ${format.percent(newest.lower)} to ${format.percent(newest.upper)}, tolerance ${format.percent(tolerance)}.`
    : 'No window has closed yet.';
  const chart = svg(
    'svg',
    {
      viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
      class: 'chart',
      role: 'img',
      'aria-label': `Mismatch rate and its confidence band over time. ${description}`,
      'data-testid': 'band-chart',
      preserveAspectRatio: 'none',
    },
    svg('path', { d: geometry.band, class: 'band' }),
    svg('line', { x1: 0, x2: WIDTH, y1: geometry.toleranceY, y2: geometry.toleranceY, class: 'tolerance' }),
    svg('path', { d: geometry.rate, class: 'rate' }),
    ...geometry.points.map(({ x, y, point }) =>
      svg(
        'circle',
        {
          cx: x,
          cy: y,
          r: 3,
          class: 'point',
          'data-at': new Date(point.at).toISOString(),
          'data-sampled': point.sampled,
          'data-rate': point.rate,
          'data-lower': point.lower,
          'data-upper': point.upper,
        },
        svg(
          'title',
          {},
          `${format.time(new Date(point.at).toISOString())}: ${format.percent(point.rate)} [${format.percent(point.lower)}, ${format.percent(point.upper)}]`,
        ),
      ),
    ),
  );
  const shown = items.slice(0, TABLE_ROWS);
  return h(
    'section',
    { 'aria-labelledby': 'windows-heading' },
    h('h2', { id: 'windows-heading' }, 'Mismatch rate over time'),
    h(
      'p',
      { class: 'muted' },
      description,
      ` Axis up to ${format.percent(geometry.yMax)}; the dashed line is the tolerance.`,
    ),
    items.length > 0 ? h('figure', {}, chart) : null,
    items.length > 0
      ? table(
          total > shown.length ? `Closed windows (newest ${shown.length} of ${format.count(total)})` : 'Closed windows',
          ['window start', 'equal', 'different', 'missing', 'extra', 'rate so far', 'bounds so far'],
          shown.map((w) => [
            format.time(w.start),
            format.count(w.equal),
            format.count(w.different),
            format.count(w.missing),
            format.count(w.extra),
            format.percent(w.mismatchRate.rate),
            `${format.percent(w.mismatchRate.lower)} – ${format.percent(w.mismatchRate.upper)}`,
          ]),
          { 'data-testid': 'windows-table' },
        )
      : null,
  );
}
