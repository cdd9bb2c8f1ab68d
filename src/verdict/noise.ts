/** Standard normal quantile (Acklam's rational approximation, |error| < 1.2e-9). */
export function normalQuantile(p: number): number {
  const a = [
    -39.69683028665376, 220.9460984245205, -275.928510446969, 138.357751867269, -30.66479806614716, 2.506628277459239,
  ];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const low = 0.02425;
  const poly = (coefficients: number[], x: number) => coefficients.reduce((sum, k) => sum * x + k, 0);
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    return poly(c, q) / (poly(d, q) * q + 1);
  }
  if (p > 1 - low) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return (poly(a, r) * q) / (poly(b, r) * r + 1);
}

export interface FieldRates {
  path: string;
  candidateRate: number;
  controlRate: number;
}

/**
 * Fields whose candidate-vs-live difference rate is not significantly above the control-vs-live
 * rate (one-sided two-proportion z-test at `alpha`): the live version disagrees with itself there
 * as often, so those differences are noise, not regressions. A field the control never differs on
 * is never noise.
 */
export function noiseFields(
  candidate: { compared: number; fields: ReadonlyMap<string, number> },
  control: { compared: number; fields: ReadonlyMap<string, number> },
  alpha: number,
): FieldRates[] {
  const critical = normalQuantile(1 - alpha);
  const noise: FieldRates[] = [];
  for (const [path, controlDiffs] of control.fields) {
    if (controlDiffs === 0 || candidate.compared === 0 || control.compared === 0) continue;
    const candidateDiffs = candidate.fields.get(path) ?? 0;
    const candidateRate = candidateDiffs / candidate.compared;
    const controlRate = controlDiffs / control.compared;
    const pooled = (candidateDiffs + controlDiffs) / (candidate.compared + control.compared);
    const standardError = Math.sqrt(pooled * (1 - pooled) * (1 / candidate.compared + 1 / control.compared));
    const z = standardError === 0 ? 0 : (candidateRate - controlRate) / standardError;
    if (z < critical) noise.push({ path, candidateRate, controlRate });
  }
  return noise.sort((a, b) => a.path.localeCompare(b.path));
}
