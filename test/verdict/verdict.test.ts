import { describe, expect, it } from 'vitest';
import type { VerdictPolicy } from '../../src/config/schema.js';
import { confidenceSequence } from '../../src/verdict/confidence.js';
import {
  evaluateVerdict,
  type OutcomeCounts,
  type VerdictBody,
  type VerdictInput,
  verdictCode,
} from '../../src/verdict/verdict.js';

const policy = (overrides: Partial<VerdictPolicy> = {}): VerdictPolicy => ({
  tolerance: 0.001,
  alpha: 0.05,
  minSamples: 1000,
  fields: {},
  maxLagSeconds: 300,
  ...overrides,
});

const counts = (equal: number, different = 0, missing = 0, extra = 0): OutcomeCounts => ({
  equal,
  different,
  missing,
  extra,
});

const evaluate = (input: Partial<VerdictInput> & Pick<VerdictInput, 'counts'>): VerdictBody =>
  evaluateVerdict({
    comparison: 'orders-v2',
    policy: policy(),
    fieldDifferences: {},
    complete: true,
    now: new Date('2025-03-01T12:00:00Z'),
    ...input,
  });

describe('verdict body', () => {
  it('has exactly the SPEC §4 shape', () => {
    const { lower, upper } = confidenceSequence(31, 10_000, 0.05, 0.001);
    expect(evaluate({ counts: counts(9969, 25, 4, 2), complete: false })).toEqual({
      apiVersion: 'shadowdiff/v1',
      comparison: 'orders-v2',
      verdict: 'FAIL',
      pass: false,
      fail: true,
      complete: false,
      reason: 'mismatch rate 0.31% ≥ tolerance 0.10% (lower bound 0.16%)',
      score: 31,
      stats: {
        method: 'beta-binomial mixture confidence sequence (Ville)',
        alpha: 0.05,
        tolerance: 0.001,
        sampled: 10_000,
        mismatched: 31,
        rate: 0.0031,
        lower,
        upper,
      },
      checks: [{ name: 'mismatch_rate', verdict: 'FAIL', observed: 0.0031, lower, upper, tolerance: 0.001 }],
      result: { judgeResult: { judgeName: 'shadowdiff', score: { score: 31, classification: 'Fail' } } },
      evaluatedAt: '2025-03-01T12:00:00.000Z',
    });
  });

  it('stamps the current time when no clock is given', () => {
    const before = Date.now();
    const body = evaluateVerdict({
      comparison: 'c',
      policy: policy(),
      counts: counts(5),
      fieldDifferences: {},
      complete: false,
    });
    const stamped = Date.parse(body.evaluatedAt);
    expect(stamped).toBeGreaterThanOrEqual(before);
    expect(stamped).toBeLessThanOrEqual(Date.now());
  });

  it('reports PASS with its upper bound and sample count', () => {
    const body = evaluate({ counts: counts(10_000) });
    expect(body.verdict).toBe('PASS');
    expect(body.pass).toBe(true);
    expect(body.fail).toBe(false);
    expect(body.reason).toBe('mismatch rate 0.00% < tolerance 0.10% (upper bound 0.05%) over 10000 samples');
    expect(body.score).toBe(86);
    expect(body.result.judgeResult.score).toEqual({ score: 86, classification: 'Pass' });
  });

  it('keeps two significant digits for very small tolerances', () => {
    const body = evaluate({ policy: policy({ tolerance: 0.000_01, minSamples: 0 }), counts: counts(10_000_000, 20) });
    expect(body.verdict).toBe('PASS');
    expect(body.reason).toBe('mismatch rate 0.00020% < tolerance 0.0010% (upper bound 0.00038%) over 10000020 samples');
  });
});

describe('INCONCLUSIVE', () => {
  it('waits for minSamples even when the bound already passes', () => {
    const body = evaluate({ policy: policy({ tolerance: 0.05 }), counts: counts(312) });
    expect(body.checks[0]!.verdict).toBe('PASS');
    expect(body.verdict).toBe('INCONCLUSIVE');
    expect(body.reason).toBe('needs 1000 samples, has 312');
    expect(body.score).toBe(74);
    expect(body.result.judgeResult.score.classification).toBe('Marginal');
  });

  it('passes with few samples when minSamples is 0', () => {
    const body = evaluate({ policy: policy({ tolerance: 0.05, minSamples: 0 }), counts: counts(100) });
    expect(body.verdict).toBe('PASS');
    expect(body.reason).toBe('mismatch rate 0.00% < tolerance 5.00% (upper bound 4.72%) over 100 samples');
  });

  it('holds a passing candidate back while it lags live', () => {
    const body = evaluate({ counts: counts(10_000), lagSeconds: 420 });
    expect(body.verdict).toBe('INCONCLUSIVE');
    expect(body.reason).toBe('candidate lags live by 420s > 300s');
    expect(body.score).toBe(74);
    expect(evaluate({ counts: counts(10_000), lagSeconds: 300.44 }).reason).toBe(
      'candidate lags live by 300.4s > 300s',
    );
  });

  it('accepts lag up to maxLagSeconds', () => {
    expect(evaluate({ counts: counts(10_000), lagSeconds: 300 }).verdict).toBe('PASS');
  });

  it('says why a check is undecided', () => {
    const body = evaluate({ counts: counts(9990, 10) });
    expect(body.verdict).toBe('INCONCLUSIVE');
    expect(body.reason).toBe('mismatch rate 0.10% undecided: bounds [0.03%, 0.22%] include tolerance 0.10%');
    expect(body.score).toBe(58);
  });

  it('lists every blocker before any sample arrived', () => {
    const body = evaluate({ counts: counts(0), lagSeconds: 301, complete: false });
    expect(body.verdict).toBe('INCONCLUSIVE');
    expect(body.reason).toBe(
      'candidate lags live by 301s > 300s; needs 1000 samples, has 0; ' +
        'mismatch rate 0.00% undecided: bounds [0.00%, 100.00%] include tolerance 0.10%',
    );
    expect(body.stats).toMatchObject({ sampled: 0, mismatched: 0, rate: 0, lower: 0, upper: 1 });
    expect(body.score).toBe(50);
  });
});

describe('FAIL', () => {
  it('wins over too few samples and lag: the evidence is already conclusive', () => {
    const body = evaluate({ counts: counts(80, 20), lagSeconds: 999 });
    expect(body.verdict).toBe('FAIL');
    expect(body.reason).toBe('mismatch rate 20.00% ≥ tolerance 0.10% (lower bound 0.67%)');
    expect(body.score).toBe(7);
  });

  it('names every failing check', () => {
    const body = evaluate({
      policy: policy({ tolerance: 0.05, missing: 0.001, extra: 0.001 }),
      counts: counts(900, 0, 60, 40),
    });
    expect(body.reason).toBe(
      'mismatch rate 10.00% ≥ tolerance 5.00% (lower bound 7.10%); ' +
        'missing rate 6.00% ≥ tolerance 0.10% (lower bound 1.38%); ' +
        'extra rate 4.00% ≥ tolerance 0.10% (lower bound 0.90%)',
    );
  });
});

describe('missing and extra checks', () => {
  it('are added only when configured', () => {
    expect(evaluate({ counts: counts(9900, 0, 60, 40) }).checks.map((c) => c.name)).toEqual(['mismatch_rate']);
    expect(
      evaluate({ policy: policy({ extra: 0.01 }), counts: counts(9900, 0, 60, 40) }).checks.map((c) => c.name),
    ).toEqual(['mismatch_rate', 'extra']);
  });

  it('fail a candidate that drops records even when the overall rate passes', () => {
    const body = evaluate({
      policy: policy({ tolerance: 0.05, missing: 0.001, extra: 0.01 }),
      counts: counts(9900, 0, 60, 40),
    });
    expect(body.verdict).toBe('FAIL');
    expect(body.reason).toBe('missing rate 0.60% ≥ tolerance 0.10% (lower bound 0.34%)');
    expect(body.checks.map((c) => [c.name, c.verdict, c.observed, c.tolerance])).toEqual([
      ['mismatch_rate', 'PASS', 0.01, 0.05],
      ['missing', 'FAIL', 0.006, 0.001],
      ['extra', 'PASS', 0.004, 0.01],
    ]);
    expect(body.score).toBe(14);
  });

  it('pass together, and the reason says how many checks passed', () => {
    const body = evaluate({
      policy: policy({ tolerance: 0.05, missing: 0.02, extra: 0.02 }),
      counts: counts(10_000, 10, 5, 5),
    });
    expect(body.verdict).toBe('PASS');
    expect(body.reason).toBe(
      'all 3 checks pass over 10020 samples; mismatch rate 0.20% < tolerance 5.00% (upper bound 0.41%)',
    );
    expect(body.score).toBe(97);
  });
});

describe('field checks', () => {
  it('checks each configured field against its own tolerance, and only those', () => {
    const body = evaluate({
      policy: policy({ tolerance: 0.05, fields: { amount: 0.001, 'items[].price': 0.01 } }),
      counts: counts(9950, 50),
      fieldDifferences: { amount: 40, 'items[].price': 10, status: 5 },
    });
    expect(body.verdict).toBe('FAIL');
    expect(body.reason).toBe('field amount difference rate 0.40% ≥ tolerance 0.10% (lower bound 0.21%)');
    expect(body.checks.map((c) => [c.name, c.verdict, c.observed])).toEqual([
      ['mismatch_rate', 'PASS', 0.005],
      ['field:amount', 'FAIL', 0.004],
      ['field:items[].price', 'PASS', 0.001],
    ]);
  });

  it('measure a field over rows present on both sides', () => {
    const body = evaluate({
      policy: policy({ tolerance: 0.5, fields: { amount: 0.2 } }),
      counts: counts(50, 50, 900),
      fieldDifferences: { amount: 50 },
    });
    expect(body.checks[1]).toMatchObject({ name: 'field:amount', verdict: 'FAIL', observed: 0.5 });
  });

  it('count a field without differences as clean', () => {
    const body = evaluate({ policy: policy({ fields: { amount: 0.01 } }), counts: counts(10_000) });
    expect(body.checks[1]).toMatchObject({ name: 'field:amount', verdict: 'PASS', observed: 0 });
    expect(body.verdict).toBe('PASS');
  });

  it('reject more differing rows than compared rows', () => {
    expect(() =>
      evaluate({ policy: policy({ fields: { amount: 0.01 } }), counts: counts(5, 1), fieldDifferences: { amount: 7 } }),
    ).toThrow(RangeError);
  });
});

describe('score', () => {
  it('orders FAIL < 50 <= INCONCLUSIVE < 75 <= PASS, and classifies accordingly', () => {
    const seen = { PASS: 0, FAIL: 0, INCONCLUSIVE: 0 };
    for (const tolerance of [0, 0.001, 0.05, 0.5]) {
      for (const minSamples of [0, 1000]) {
        for (const n of [0, 50, 1_000, 20_000]) {
          for (const rate of [0, 0.0005, 0.001, 0.002, 0.03, 0.05, 0.08, 0.4, 0.6, 1]) {
            const mismatched = Math.round(rate * n);
            const body = evaluate({
              policy: policy({ tolerance, minSamples }),
              counts: counts(n - mismatched, mismatched),
            });
            const { score, classification } = body.result.judgeResult.score;
            expect(score).toBe(body.score);
            expect(Number.isInteger(score)).toBe(true);
            if (body.verdict === 'FAIL') expect([score >= 0 && score < 50, classification]).toEqual([true, 'Fail']);
            if (body.verdict === 'INCONCLUSIVE')
              expect([score >= 50 && score < 75, classification]).toEqual([true, 'Marginal']);
            if (body.verdict === 'PASS') expect([score >= 75 && score <= 100, classification]).toEqual([true, 'Pass']);
            seen[body.verdict]++;
          }
        }
      }
    }
    expect(seen).toEqual({ PASS: 59, FAIL: 112, INCONCLUSIVE: 149 });
  });

  it('rises as the mismatch rate falls', () => {
    const scores = [200, 60, 30, 10, 5, 0].map(
      (different) => evaluate({ counts: counts(20_000 - different, different) }).score,
    );
    expect(scores).toEqual([7, 27, 52, 71, 81, 92]);
  });
});

describe('verdictCode', () => {
  it('maps PASS 1, INCONCLUSIVE 0, FAIL -1', () => {
    expect(verdictCode('PASS')).toBe(1);
    expect(verdictCode('INCONCLUSIVE')).toBe(0);
    expect(verdictCode('FAIL')).toBe(-1);
  });
});

describe('a scoped verdict', () => {
  it('states the scope, and FAILs a candidate that emitted unexpected records whatever its slice says', () => {
    const clean = evaluate({ counts: counts(100_000), scope: 'partitions 0, 1; records outside it are out of scope' });
    expect(clean).toMatchObject({ verdict: 'PASS', scope: 'partitions 0, 1; records outside it are out of scope' });
    const leaked = evaluate({ counts: counts(100_000), unexpected: 3 });
    expect(leaked).toMatchObject({ verdict: 'FAIL', pass: false, fail: true });
    expect(leaked.reason).toBe('candidate emitted 3 unexpected records outside its scope');
    expect(leaked.score).toBeLessThan(50);
    expect(leaked.result.judgeResult.score.classification).toBe('Fail');
    const failing = evaluate({ counts: counts(1000, 100), unexpected: 1 });
    expect(failing.reason).toMatch(/^candidate emitted 1 unexpected records outside its scope; mismatch rate /);
    expect(evaluate({ counts: counts(10) }).scope).toBeUndefined();
  });
});

describe('misrouted keys (cluster mode)', () => {
  it('are named in the reason whatever the verdict, which they do not change', () => {
    const plain = evaluate({ counts: counts(100_000) });
    const misrouted = evaluate({ counts: counts(100_000), misrouted: 7 });
    expect(misrouted.verdict).toBe(plain.verdict);
    expect(misrouted.score).toBe(plain.score);
    expect(misrouted.reason).toBe(
      `${plain.reason}; 7 keys misrouted: their records came on different partitions across sides (topics not co-partitioned)`,
    );
    expect(evaluate({ counts: counts(100_000), misrouted: 0 }).reason).toBe(plain.reason);
  });
});
