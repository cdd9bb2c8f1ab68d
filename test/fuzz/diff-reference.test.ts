import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventTimeMs } from '../../src/align/time.js';
import type { CompareConfig } from '../../src/config/schema.js';
import { diffPair, type SideInput } from '../../src/diff/engine.js';
import { compileRules } from '../../src/diff/rules.js';
import { appendDocs } from '../../src/store/append.js';
import { connect, openDatabase } from '../../src/store/duckdb.js';
import { FUZZ_RUNS, fuzzOptions } from './fuzz.js';
import { type Json, recordPair, rules } from './record-arbitraries.js';

/**
 * Differential property: the DuckDB engine (hash first, typed rows, then compareRecords) decides
 * each pair as a plain reference comparison written from SPEC §2 does: equal or different, and the
 * same differing paths with their kinds. Numbers are exactly representable doubles, on which
 * exact-decimal and double semantics agree.
 */

type Kind = 'value' | 'type' | 'missing' | 'extra';

function globMatches(glob: string, path: string, subtree: boolean): boolean {
  const source = glob
    .split('**')
    .map((part) =>
      part
        .split('*')
        .map((text) => text.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('[^.]*'),
    )
    .join('.*');
  return new RegExp(subtree ? `^${source}(?:$|\\.|\\[\\])` : `^${source}$`).test(path);
}

/** SPEC §2, read literally, one pair at a time. */
function reference(live: Json | undefined, candidate: Json | undefined, config: CompareConfig): Set<string> {
  const found = new Set<string>();
  const any = (globs: string[], path: string, subtree = false) => globs.some((g) => globMatches(g, path, subtree));
  const absent = (v: Json | undefined) => v === undefined || (v === null && config.nullEqualsMissing);
  const kindOf = (v: Json) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
  const isComposite = (v: Json) => v !== null && typeof v === 'object';
  const tolerance = (path: string) => {
    const override = Object.entries(config.numeric.fields).find(([glob]) => globMatches(glob, path, false))?.[1];
    return { abs: override?.abs ?? config.numeric.abs, rel: override?.rel ?? config.numeric.rel };
  };
  const child = (path: string, name: string) => (path === '' ? name : `${path}.${name}`);

  function diff(l: Json | undefined, c: Json | undefined, path: string, out: Set<string>): void {
    if (path !== '' && any(config.ignore, path, true)) return;
    if (absent(l) || absent(c)) {
      if (!(absent(l) && absent(c))) out.add(`${path} ${absent(l) ? 'extra' : 'missing'}`);
      return;
    }
    const a = l as Json;
    const b = c as Json;
    // Instants are scalars: arrays and objects at a timestamps path compare as any others do.
    if (any(config.timestamps.paths, path) && !isComposite(a) && !isComposite(b)) {
      const x = eventTimeMs(a);
      const y = eventTimeMs(b);
      if (x !== undefined && y !== undefined) {
        if (Math.abs(x - y) > config.timestamps.toleranceMs) out.add(`${path} value`);
        return;
      }
      if ((x === undefined) !== (y === undefined) && kindOf(a) !== kindOf(b)) out.add(`${path} type`);
      else if (a !== b) out.add(`${path} value`);
      return;
    }
    if (kindOf(a) !== kindOf(b)) {
      // A type change is kind `type`; null against a value (nullEqualsMissing off) is a changed value.
      out.add(`${path} ${a === null || b === null ? 'value' : 'type'}`);
      return;
    }
    if (typeof a === 'number' && typeof b === 'number') {
      const { abs, rel } = tolerance(path);
      if (a !== b && !(Math.abs(a - b) <= abs + rel * Math.abs(a))) out.add(`${path} value`);
      return;
    }
    if (Array.isArray(a) && Array.isArray(b)) {
      const element = `${path}[]`;
      // Ignored elements, added, removed or changed, are never compared; the array itself is.
      if (any(config.ignore, element, true)) return;
      if (any(config.unorderedArrays, path)) {
        // A multiset: equal when some order of the candidate's elements matches; else the array differs.
        if (!someOrderMatches(a, b, element)) out.add(`${path} unordered`);
        return;
      }
      for (let i = 0; i < Math.max(a.length, b.length); i++) {
        if (i >= b.length) out.add(`${element} missing`);
        else if (i >= a.length) out.add(`${element} extra`);
        else diff(a[i], b[i], element, out);
      }
      return;
    }
    if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null && !Array.isArray(a)) {
      const other = b as Record<string, Json>;
      for (const name of new Set([...Object.keys(a), ...Object.keys(other)])) {
        diff(
          Object.hasOwn(a, name) ? a[name] : undefined,
          Object.hasOwn(other, name) ? other[name] : undefined,
          child(path, name),
          out,
        );
      }
      return;
    }
    if (a !== b) out.add(`${path} value`);
  }

  function someOrderMatches(a: Json[], b: Json[], element: string): boolean {
    if (a.length !== b.length) return false;
    if (a.length === 0) return true;
    const [first, ...rest] = a;
    return b.some((item, i) => {
      const probe = new Set<string>();
      diff(first, item, element, probe);
      return probe.size === 0 && someOrderMatches(rest, [...b.slice(0, i), ...b.slice(i + 1)], element);
    });
  }

  diff(live, candidate, '', found);
  return found;
}

/** The engine's differences of one key, unordered arrays folded to the array, as the reference reports them. */
function folded(differences: { field: string; kind: Kind }[], config: CompareConfig): Set<string> {
  const out = new Set<string>();
  for (const { field, kind } of differences) {
    const segments = field.split('.');
    let unordered: string | undefined;
    for (let i = 1; i <= segments.length && !unordered; i++) {
      const prefix = segments.slice(0, i).join('.');
      for (const candidate of [prefix.replace(/(\[\])+$/, ''), prefix]) {
        if (
          config.unorderedArrays.some((g) => globMatches(g, candidate, false)) &&
          field.startsWith(`${candidate}[]`)
        ) {
          unordered = candidate;
          break;
        }
      }
    }
    out.add(unordered !== undefined ? `${unordered} unordered` : `${field} ${kind}`);
  }
  return out;
}

const PAIRS_PER_CALL = 400;
const CALLS = FUZZ_RUNS / PAIRS_PER_CALL;

let instance: DuckDBInstance;
let connection: DuckDBConnection;
let table = 0;

beforeAll(async () => {
  instance = await openDatabase({ path: ':memory:', memoryLimit: '256MB', threads: 1 });
  connection = await connect(instance);
});

afterAll(() => {
  connection?.closeSync();
  instance?.closeSync();
});

async function side(name: 'live' | 'candidate', docs: string[]): Promise<SideInput> {
  const relation = `fuzz_${name}_${++table}`;
  await connection.run(`CREATE TABLE ${relation} (doc VARCHAR, reason VARCHAR)`);
  await appendDocs(
    connection,
    relation,
    docs.map((doc) => ({ doc })),
  );
  return {
    side: name,
    relation: `(SELECT doc, reason FROM ${relation})`,
    locate: async (positions) => new Map(positions.map((p) => [p, { label: String(p) }])),
  };
}

describe('the DuckDB engine against a reference comparison (SPEC §2)', () => {
  it(`decides ${FUZZ_RUNS} random pairs as the reference does, ${PAIRS_PER_CALL} per engine call`, async () => {
    await fc.assert(
      fc.asyncProperty(
        rules,
        fc.array(recordPair, { minLength: PAIRS_PER_CALL, maxLength: PAIRS_PER_CALL }),
        // Half the calls skip the typed-row settle, as the service does where it settles none.
        fc.boolean(),
        async (config, pairs, settle) => {
          const doc = (record: Record<string, Json>, i: number) => JSON.stringify({ ...record, k: `p${i}` });
          const live = await side(
            'live',
            pairs.map(([l], i) => doc(l, i)),
          );
          const candidate = await side(
            'candidate',
            pairs.map(([, c], i) => doc(c, i)),
          );
          const result = await diffPair(
            connection,
            {
              key: ['k'],
              keyAsText: false,
              windowMs: 60_000,
              duplicates: 'last',
              rules: compileRules(config),
              samplingRate: 1,
              redact: [],
              samplesPerGroup: PAIRS_PER_CALL * 8,
            },
            live,
            candidate,
            {},
            { settle },
          );
          const byKey = new Map<string, { field: string; kind: Kind }[]>();
          for (const sample of result.samples) {
            if (sample.outcome !== 'different' || sample.key === undefined) continue;
            const list = byKey.get(sample.key) ?? [];
            list.push({ field: sample.field as string, kind: sample.kind as Kind });
            byKey.set(sample.key, list);
          }
          let different = 0;
          pairs.forEach(([l, c], i) => {
            const expected = reference(l, c, config);
            if (expected.size > 0) different++;
            const engine = folded(byKey.get(`p${i}`) ?? [], config);
            if ([...expected].sort().join('|') !== [...engine].sort().join('|')) {
              throw new Error(
                `pair p${i} ${JSON.stringify(l)} vs ${JSON.stringify(c)} under ${JSON.stringify(config)}: engine ${JSON.stringify([...engine])}, reference ${JSON.stringify([...expected])}`,
              );
            }
          });
          expect({
            equal: result.equal,
            different: result.different,
            missing: result.missing,
            extra: result.extra,
          }).toEqual({
            equal: PAIRS_PER_CALL - different,
            different,
            missing: 0,
            extra: 0,
          });
        },
      ),
      fuzzOptions(CALLS),
    );
  });
});
