/**
 * Geometry of the mismatch-rate chart: the rate and its confidence band after each closed window,
 * against the tolerance. Pure numbers and SVG path text; the page draws them.
 */
export interface BandPoint {
  /** Window end, ms since the epoch: the rate is what the verdict read once this window was in. */
  at: number;
  rate: number;
  lower: number;
  upper: number;
  sampled: number;
}

export interface BandGeometry {
  width: number;
  height: number;
  /** Top of the y axis: early bounds near 1 are cut here so the tolerance stays readable. */
  yMax: number;
  toleranceY: number;
  band: string;
  rate: string;
  points: { x: number; y: number; point: BandPoint }[];
}

const PAD = { left: 8, right: 8, top: 8, bottom: 8 };

const round = (value: number) => Math.round(value * 10) / 10;

export function bandGeometry(
  points: readonly BandPoint[],
  tolerance: number,
  width: number,
  height: number,
): BandGeometry {
  const ordered = [...points].sort((a, b) => a.at - b.at);
  const largestRate = Math.max(0, ...ordered.map((p) => p.rate));
  const settledUpper = Math.max(0, ...ordered.slice(-Math.max(1, Math.ceil(ordered.length / 2))).map((p) => p.upper));
  const yMax = Math.min(1, Math.max(tolerance * 2, largestRate * 1.25, settledUpper * 1.1, 1e-6));
  const first = ordered[0]?.at ?? 0;
  const last = ordered.at(-1)?.at ?? first;
  const innerWidth = width - PAD.left - PAD.right;
  const innerHeight = height - PAD.top - PAD.bottom;
  const x = (at: number) =>
    round(last === first ? PAD.left + innerWidth / 2 : PAD.left + ((at - first) / (last - first)) * innerWidth);
  const y = (rate: number) => round(PAD.top + innerHeight * (1 - Math.min(rate, yMax) / yMax));
  const line = (values: [number, number][]) =>
    values.map(([px, py], i) => `${i === 0 ? 'M' : 'L'}${px},${py}`).join(' ');
  const upper = ordered.map((p): [number, number] => [x(p.at), y(p.upper)]);
  const lower = ordered.map((p): [number, number] => [x(p.at), y(p.lower)]).reverse();
  // A single point still shows its interval: a bar a few pixels wide.
  const band =
    ordered.length === 1
      ? line([
          [upper[0]![0] - 3, upper[0]![1]],
          [upper[0]![0] + 3, upper[0]![1]],
          [lower[0]![0] + 3, lower[0]![1]],
          [lower[0]![0] - 3, lower[0]![1]],
        ])
      : line([...upper, ...lower]);
  return {
    width,
    height,
    yMax,
    toleranceY: y(tolerance),
    band: ordered.length === 0 ? '' : `${band} Z`,
    rate: line(ordered.map((p) => [x(p.at), y(p.rate)])),
    points: ordered.map((point) => ({ x: x(point.at), y: y(point.rate), point })),
  };
}
