import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { samplingThreshold } from '../../src/align/keys.js';
import { parseComparison, parseScope } from '../../src/config/load.js';
import { runBatchDiff } from '../../src/diff/batch.js';
import { sameScope, scopeInWords } from '../../src/diff/scope.js';
import { tempDir } from '../helpers/tmp.js';

const files = tempDir();
afterAll(() => files.remove());

const TENANTS = ['acme', 'globex', 'initech'];

function comparison(extra: Record<string, unknown> = {}) {
  return parseComparison({
    id: 'canary',
    live: { file: { path: 'unused' } },
    candidate: { file: { path: 'unused' } },
    key: ['id'],
    verdict: { tolerance: 0.01, minSamples: 100 },
    ...extra,
  });
}

const lines = (records: unknown[]) => `${records.map((r) => JSON.stringify(r)).join('\n')}\n`;

/** 3000 records over three tenants, tenant nested under `account`; acme's have ids ≡ 0 mod 3. */
const live = Array.from({ length: 3000 }, (_, i) => ({
  id: i,
  account: { tenant: TENANTS[i % 3] },
  amount: i * 7,
}));
const acme = live.filter((r) => r.account.tenant === 'acme');

async function diff(candidate: unknown[], extra: Record<string, unknown>) {
  const name = `${Math.random().toString(36).slice(2)}`;
  return runBatchDiff(
    comparison(extra),
    {
      live: files.write(`${name}-live.ndjson`, lines(live)),
      candidate: files.write(`${name}-cand.ndjson`, lines(candidate)),
    },
    { samples: 3 },
  );
}

describe('batch canary on one tenant', () => {
  const scope = { field: 'account.tenant', in: ['acme'] };

  it('PASSes a clean slice: live records of other tenants are out of scope, not missing', async () => {
    const result = await diff(acme, { scope });
    expect(result.counts).toMatchObject({
      live: 1000,
      candidate: 1000,
      equal: 1000,
      different: 0,
      missing: 0,
      extra: 0,
      outOfScopeLive: 2000,
      outOfScopeCandidate: 0,
      unexpectedCandidate: 0,
    });
    expect(result.verdict.verdict).toBe('PASS');
    expect(result.verdict.scope).toBe('account.tenant in ["acme"]; records outside it are out of scope');
  });

  it('without the scope, the same healthy canary FAILs on missing records', async () => {
    const result = await diff(acme, {});
    expect(result.counts).toMatchObject({ equal: 1000, missing: 2000 });
    expect(result.verdict.verdict).toBe('FAIL');
  });

  it('FAILs a broken slice, with the same out_of_scope counts', async () => {
    const broken = acme.map((r) => (r.id % 30 === 0 ? { ...r, amount: -1 } : r));
    const result = await diff(broken, { scope });
    expect(result.counts).toMatchObject({ equal: 900, different: 100, missing: 0, outOfScopeLive: 2000 });
    expect(result.verdict.verdict).toBe('FAIL');
  });

  it('counts a candidate held to its slice that emits other tenants as unexpected, named in the reason', async () => {
    const leaked = [...acme, ...live.filter((r) => r.account.tenant === 'globex').slice(0, 7)];
    const result = await diff(leaked, { scope: { ...scope, candidateOnly: true } });
    expect(result.counts).toMatchObject({
      equal: 1000,
      extra: 0,
      outOfScopeLive: 2000,
      outOfScopeCandidate: 0,
      unexpectedCandidate: 7,
    });
    expect(result.verdict.verdict).toBe('FAIL');
    expect(result.verdict.reason).toMatch(/^candidate emitted 7 unexpected records outside its scope/);
  });

  it('without candidateOnly the candidate records outside the slice are out of scope only', async () => {
    const result = await diff(live, { scope: { field: 'account.tenant', notIn: ['globex', 'initech'] } });
    expect(result.counts).toMatchObject({ equal: 1000, outOfScopeLive: 2000, outOfScopeCandidate: 2000 });
    expect(result.verdict.verdict).toBe('PASS');
  });

  it('keeps records without the field outside an in list and inside a notIn list', async () => {
    const records = [{ id: 1, tenant: 'acme' }, { id: 2 }, { id: 3, tenant: null }, { id: 4, tenant: 'globex' }];
    const run = (scope: Record<string, unknown>) =>
      runBatchDiff(
        comparison({ scope, verdict: { minSamples: 1 } }),
        {
          live: files.write('absent-live.ndjson', lines(records)),
          candidate: files.write('absent-cand.ndjson', lines(records)),
        },
        { samples: 3 },
      );
    expect((await run({ field: 'tenant', in: ['acme'] })).counts).toMatchObject({ equal: 1, outOfScopeLive: 3 });
    expect((await run({ field: 'tenant', notIn: ['acme'] })).counts).toMatchObject({ equal: 3, outOfScopeLive: 1 });
  });

  it('compares values as keys: 12.0 is the number 12, the string "12" is not', async () => {
    const records = [
      { id: 1, shard: 12 },
      { id: 2, shard: 12.0 },
      { id: 3, shard: '12' },
      { id: 4, shard: 13 },
      { id: 5 },
    ];
    const text = (r: Record<string, unknown>) => JSON.stringify(r).replace('"shard":12}', '"shard":12.0}');
    const name = 'values';
    const result = await runBatchDiff(
      comparison({ scope: { field: 'shard', in: [12] }, verdict: { minSamples: 1 } }),
      {
        live: files.write(`${name}-live.ndjson`, `${records.map(text).join('\n')}\n`),
        candidate: files.write(`${name}-cand.ndjson`, lines(records)),
      },
      { samples: 3 },
    );
    expect(result.counts).toMatchObject({ live: 2, candidate: 2, equal: 2, outOfScopeLive: 3 });
  });
});

describe('key-range canary', () => {
  const keyHash = (key: string) => createHash('md5').update(key, 'utf8').digest().readBigUInt64LE(0);

  it('holds exactly the keys sampling takes at the same fraction', async () => {
    const threshold = samplingThreshold(0.1) as bigint;
    const inRange = live.filter((r) => keyHash(String(r.id)) < threshold);
    const scoped = await diff(inRange, { scope: { keyRange: [0, 0.1] } });
    const sampled = await diff(live, { sampling: { rate: 0.1 } });
    expect(scoped.counts).toMatchObject({
      equal: inRange.length,
      missing: 0,
      extra: 0,
      outOfScopeLive: live.length - inRange.length,
      outOfScopeCandidate: 0,
    });
    expect(sampled.counts).toMatchObject({ equal: inRange.length, sampledOutLive: live.length - inRange.length });
    expect(inRange.length).toBeGreaterThan(250);
  });

  it('splits the key space: [0, 0.1) and [0.1, 1] hold every key once', async () => {
    const low = await diff(live, { scope: { keyRange: [0, 0.1] } });
    const high = await diff(live, { scope: { keyRange: [0.1, 1] } });
    expect((low.counts.equal ?? 0) + high.counts.equal).toBe(live.length);
    expect(low.counts.outOfScopeLive).toBe(high.counts.equal);
  });
});

describe('scope settings', () => {
  it.each([
    [{ field: 'tenant' }, 'scope.field: needs in or notIn'],
    [{ field: 'tenant', in: ['a'], notIn: ['b'] }, 'scope.field: give one of in and notIn'],
    [{ in: ['a'] }, 'scope.in: needs field'],
    [{ keyRange: [0.5, 0.2] }, 'scope.keyRange: from must be below to'],
    [{ keyRange: [0, 2] }, 'scope.keyRange[1]'],
    [{ partitions: [0, 1] }, 'scope.partitions: applies to Kafka sources only; live is not one'],
    [{ sql: 'true' }, 'scope.sql: unknown setting'],
    [{}, 'scope: names no slice'],
  ])('refuses %j', (scope, message) => {
    expect(() => comparison({ scope })).toThrow(message);
  });
});

describe('a scope on its own (the body of PUT .../scope)', () => {
  it('is validated as the config is, with the path of the bad value', () => {
    expect(parseScope({ partitions: [0, 1] })).toEqual({ partitions: [0, 1], candidateOnly: false });
    expect(parseScope(null)).toBeNull();
    expect(() => parseScope({ keyRange: [0, 2] })).toThrow(
      'scope.keyRange[1]: expected number to be less or equal to 1',
    );
    expect(() => parseScope({ sql: 'true' })).toThrow('scope.sql: unknown setting');
    expect(() => parseScope({ field: 'tenant', in: [{}] })).toThrow(
      'scope.in[0]: expected a string, a number or true/false',
    );
    expect(() => parseScope('tenant = acme')).toThrow('scope: expected an object, or null for no scope');
    expect(() => parseScope([0, 1])).toThrow('scope: expected an object, or null for no scope');
  });

  it('is the same scope however its members are written, and says its slice in words', () => {
    const scope = parseScope({ field: 'tenant', in: ['acme'] });
    expect(sameScope(scope, parseScope({ in: ['acme'], field: 'tenant' }))).toBe(true);
    expect(sameScope(scope, parseScope({ field: 'tenant', in: ['globex'] }))).toBe(false);
    expect(sameScope(scope, parseScope({ field: 'tenant', in: ['acme'], candidateOnly: true }))).toBe(false);
    expect(sameScope(parseScope({ partitions: [0, 1] }), parseScope({ partitions: [1, 0] }))).toBe(true);
    expect(
      sameScope(
        parseScope({ partitions: { live: [1, 0], candidate: [2] } }),
        parseScope({ partitions: { candidate: [2], live: [0, 1] } }),
      ),
    ).toBe(true);
    expect(sameScope(parseScope({ partitions: [0, 1] }), parseScope({ partitions: [0, 2] }))).toBe(false);
    expect(sameScope(parseScope({ field: 't', notIn: [1, 'a'] }), parseScope({ field: 't', notIn: ['a', 1] }))).toBe(
      true,
    );
    expect(sameScope(parseScope({ field: 't', in: [1] }), parseScope({ field: 't', in: ['1'] }))).toBe(false);
    expect(sameScope(undefined, null)).toBe(true);
    expect(sameScope(scope, undefined)).toBe(false);
    expect(scopeInWords(scope)).toBe('tenant in ["acme"]');
    expect(scopeInWords(null)).toBe('everything');
  });
});
