import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CompareConfig } from '../../src/config/schema.js';
import { compareRecords } from '../../src/diff/compare.js';
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
          expect(compiled.isIgnored(difference.path)).toBe(false);
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
        expect(compareRecords(v, structuredClone(v), compiled)).toEqual([]);
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

describe('compare bugs the fuzzer found', () => {
  it('ignores an added element at an ignored element path, but not the array itself', () => {
    const rules = compileRules({ ...NO_RULES, ignore: ['items[]'] });
    expect(compareRecords({ items: [] }, { items: [[]] }, rules)).toEqual([]);
    expect(compareRecords({ items: [1] }, {}, rules)).toEqual([
      { path: 'items', kind: 'missing', live: [1], candidate: undefined },
    ]);
    const unordered = compileRules({ ...NO_RULES, ignore: ['o[].items[]'], unorderedArrays: ['o'] });
    expect(compareRecords({ o: [{ items: [1] }, { n: 1 }] }, { o: [{ n: 1 }, { items: [] }] }, unordered)).toEqual([]);
  });

  it('compares arrays and objects at a timestamps path structurally, and scalars as instants', () => {
    const rules = compileRules({ ...NO_RULES, timestamps: { paths: ['x'], toleranceMs: 1000 } });
    expect(compareRecords({ x: [] }, { x: [] }, rules)).toEqual([]);
    expect(compareRecords({ x: { a: [1] } }, { x: { a: [1] } }, rules)).toEqual([]);
    expect(compareRecords({ x: { a: 1 } }, { x: { a: 2 } }, rules)).toEqual([
      { path: 'x.a', kind: 'value', live: 1, candidate: 2 },
    ]);
    expect(compareRecords({ x: '2026-01-01T00:00:00Z' }, { x: '2026-01-01T00:00:00.9Z' }, rules)).toEqual([]);
    expect(compareRecords({ x: '2026-01-01T00:00:00Z' }, { x: ['2026-01-01T00:00:00Z'] }, rules)).toEqual([
      { path: 'x', kind: 'type', live: '2026-01-01T00:00:00Z', candidate: ['2026-01-01T00:00:00Z'] },
    ]);
  });
});
