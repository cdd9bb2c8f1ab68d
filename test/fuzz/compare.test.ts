import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CompareConfig } from '../../src/config/schema.js';
import { compareRecords, type FieldDifference } from '../../src/diff/compare.js';
import { compileRules } from '../../src/diff/rules.js';
import { FUZZ_RUNS, fuzzOptions } from './fuzz.js';
import { recordPair, rules, value } from './record-arbitraries.js';

const NO_RULES: CompareConfig = {
  ignore: [],
  numeric: { abs: 0, rel: 0, fields: {} },
  unorderedArrays: [],
  nullEqualsMissing: true,
  timestamps: { paths: [], toleranceMs: 0 },
};

const composite = (v: unknown) => v !== null && typeof v === 'object';

/**
 * Known bugs of compare.ts, reported and left to its owner; the properties step around them and
 * the `it.fails` tests below turn red once they are fixed, so the exclusions get removed:
 * 1. an array element added or removed at an ignored element path (`ignore: [items[]]`) is still
 *    reported as `extra`/`missing`;
 * 2. an object or array at a `timestamps` path is compared by reference, so it differs from an
 *    equal copy of itself.
 */
const ignoredElementBug = (d: FieldDifference) => d.path.endsWith('[]') && (d.kind === 'missing' || d.kind === 'extra');
const timestampCompositeBug = (d: FieldDifference) => composite(d.live) && composite(d.candidate);

const KINDS = ['value', 'type', 'missing', 'extra'];
const CANONICAL_PATH = /^(?:[^.[\]]+(?:\[\])*)(?:\.[^.[\]]+(?:\[\])*)*$|^(?:\[\])+(?:\.[^.[\]]+(?:\[\])*)*$|^$/;

describe('compare rules under random rule sets and records', () => {
  it('never throws, and reports well-formed differences outside ignored paths', () => {
    fc.assert(
      fc.property(rules, recordPair, (config, [live, candidate]) => {
        const compiled = compileRules(config);
        const absent = (v: unknown) => v === undefined || (v === null && config.nullEqualsMissing);
        for (const difference of compareRecords(live, candidate, compiled)) {
          expect(KINDS).toContain(difference.kind);
          expect(difference.path).toMatch(CANONICAL_PATH);
          if (!ignoredElementBug(difference)) expect(compiled.isIgnored(difference.path)).toBe(false);
          if (difference.kind === 'missing') expect(absent(difference.candidate)).toBe(true);
          if (difference.kind === 'extra') expect(absent(difference.live)).toBe(true);
        }
      }),
      fuzzOptions(FUZZ_RUNS / 2),
    );
  });

  it('finds every value equal to itself under any rules', () => {
    fc.assert(
      fc.property(rules, value, (config, v) => {
        const compiled = compileRules(config);
        const differences = compareRecords(v, structuredClone(v), compiled).filter(
          (d) => !(compiled.isTimestamp(d.path) && timestampCompositeBug(d)),
        );
        expect(differences).toEqual([]);
      }),
      fuzzOptions(FUZZ_RUNS / 4),
    );
  });

  it('is symmetric in equal-or-not when tolerances are absolute', () => {
    fc.assert(
      fc.property(rules, recordPair, (config, [live, candidate]) => {
        const absolute = {
          ...config,
          numeric: {
            ...config.numeric,
            rel: 0,
            fields: Object.fromEntries(Object.entries(config.numeric.fields).map(([p, t]) => [p, { ...t, rel: 0 }])),
          },
        };
        const compiled = compileRules(absolute);
        expect(compareRecords(live, candidate, compiled).length === 0).toBe(
          compareRecords(candidate, live, compiled).length === 0,
        );
      }),
      fuzzOptions(FUZZ_RUNS / 4),
    );
  });
});

describe('known compare bugs found by the fuzzer (reported; these turn red when fixed)', () => {
  it.fails('ignores an added element at an ignored element path', () => {
    const rules = compileRules({ ...NO_RULES, ignore: ['items[]'] });
    expect(compareRecords({ items: [] }, { items: [[]] }, rules)).toEqual([]);
  });

  it.fails('finds an object at a timestamps path equal to an equal copy', () => {
    const rules = compileRules({ ...NO_RULES, timestamps: { paths: ['x'], toleranceMs: 0 } });
    expect(compareRecords({ x: [] }, { x: [] }, rules)).toEqual([]);
  });
});
