import { describe, expect, it } from 'vitest';
import { bandGeometry } from '../../../src/ui/view/band.js';

describe('bandGeometry', () => {
  it('puts points in time order, the tolerance on the axis, and cuts early bounds near 1', () => {
    const points = [
      { at: 3000, rate: 0.01, lower: 0.005, upper: 0.02, sampled: 300 },
      { at: 1000, rate: 0, lower: 0, upper: 1, sampled: 10 },
      { at: 2000, rate: 0.02, lower: 0.005, upper: 0.05, sampled: 200 },
    ];
    const geometry = bandGeometry(points, 0.01, 100, 100);
    expect(geometry.points.map((p) => p.point.at)).toEqual([1000, 2000, 3000]);
    expect(geometry.points.map((p) => p.x)).toEqual([8, 50, 92]);
    // The axis reaches past the tolerance and the settled bounds, not to the first upper bound of 1.
    expect(geometry.yMax).toBeCloseTo(0.055, 10);
    expect(geometry.toleranceY).toBeCloseTo(8 + 84 * (1 - 0.01 / 0.055), 0);
    expect(geometry.band.startsWith('M8,8 L50,')).toBe(true);
    expect(geometry.band.endsWith('Z')).toBe(true);
  });

  it('draws one window as a bar and none as nothing', () => {
    expect(bandGeometry([{ at: 5, rate: 0.1, lower: 0, upper: 0.2, sampled: 10 }], 0.1, 100, 100).band).toMatch(
      /^M47,/,
    );
    expect(bandGeometry([], 0.1, 100, 100)).toMatchObject({ band: '', rate: '', points: [] });
  });
});
