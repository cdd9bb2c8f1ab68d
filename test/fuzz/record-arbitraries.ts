import fc from 'fast-check';
import type { CompareConfig } from '../../src/config/schema.js';

/** Few member names, so that generated records share paths and rules hit them. */
const NAMES = ['a', 'b', 'items', 't', 'x'] as const;
/** The canonical paths those records can have, the glob forms the rules accept included. */
const PATHS = [
  'a',
  'b',
  't',
  'x',
  'items',
  'a.b',
  'a.t',
  'b.x',
  'items[]',
  'items[].a',
  'items[].x',
  'a.*',
  '*',
  'items[].*',
];

const ISO = fc.integer({ min: 0, max: 4_102_444_800_000 }).map((ms) => new Date(ms).toISOString());

/**
 * Numbers as their JSON text would be read back exactly: doubles whose shortest text DuckDB and JS
 * read to the same value (integers within 2^53, and short decimals).
 */
export const exactNumber = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }),
  fc.maxSafeInteger(),
  fc.integer({ min: -100_000, max: 100_000 }).map((n) => n / 100),
  fc.constantFrom(0, -0, 0.1, 0.2, 0.30000000000000004, 1e21, 1.5e-7, 2 ** 53 - 1, -(2 ** 53 - 1)),
);

export const leaf = fc.oneof(
  exactNumber,
  fc.string({ maxLength: 4 }),
  fc.constantFrom('1', '', 'café', 'cafe\u0301', ' a', 'true', 'null'),
  ISO,
  fc.boolean(),
  fc.constant(null),
);

export type Json = null | boolean | number | string | Json[] | { [name: string]: Json };

/** Small records over few names: objects, arrays (of objects too), and leaves. */
export const value: fc.Arbitrary<Json> = fc.letrec<{ value: Json }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', maxDepth: 3 },
    leaf,
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom(...NAMES), tie('value'), { maxKeys: 3 }),
  ),
})).value;

export const record = fc.dictionary(fc.constantFrom(...NAMES), value, { maxKeys: 4 });

/** A candidate made from the live record by a few edits, so that pairs are often equal or close. */
export const recordPair = fc.oneof(
  fc.tuple(record, record),
  fc
    .tuple(record, fc.constantFrom(...NAMES), value)
    .map(([live, name, changed]) => [live, { ...live, [name]: changed }] as const),
  record.map((live) => [live, structuredClone(live)] as const),
  fc
    .tuple(record, fc.constantFrom(...NAMES))
    .map(([live, name]) => [live, Object.fromEntries(Object.entries(live).filter(([n]) => n !== name))] as const),
);

const tolerance = fc.oneof(
  fc.constant(0),
  fc.constantFrom(0.01, 0.5, 1, 100),
  fc.double({ min: 0, max: 10, noNaN: true }),
);

/** Random rule sets in the shape the config schema gives. */
export const rules: fc.Arbitrary<CompareConfig> = fc.record({
  ignore: fc.uniqueArray(fc.constantFrom(...PATHS), { maxLength: 2 }),
  numeric: fc.record({
    abs: tolerance,
    rel: tolerance,
    fields: fc.dictionary(
      fc.constantFrom(...PATHS),
      fc.record({ abs: tolerance, rel: tolerance }, { requiredKeys: [] }),
      { maxKeys: 2 },
    ),
  }),
  unorderedArrays: fc.uniqueArray(fc.constantFrom('items', 'a', 'a.b', 'items[].x', 'x'), { maxLength: 2 }),
  nullEqualsMissing: fc.boolean(),
  timestamps: fc.record({
    paths: fc.uniqueArray(fc.constantFrom('t', 'a.t', 'items[].t', 'x'), { maxLength: 2 }),
    toleranceMs: fc.constantFrom(0, 1, 1000),
  }),
});
