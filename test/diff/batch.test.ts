import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import { samplingThreshold } from '../../src/align/keys.js';
import { resolveComparison } from '../../src/cli/diff.js';
import { parseComparison } from '../../src/config/load.js';
import { runBatchDiff } from '../../src/diff/batch.js';
import { literal } from '../../src/diff/sql.js';
import { GROUND_TRUTH_RULES, generateGroundTruth } from '../helpers/dataset.js';
import { tempDir } from '../helpers/tmp.js';

const files = tempDir();
afterAll(() => files.remove());

function comparison(extra: Record<string, unknown> = {}) {
  return parseComparison({
    id: 'orders-v2',
    live: { file: { path: 'unused' } },
    candidate: { file: { path: 'unused' } },
    key: ['order_id'],
    compare: GROUND_TRUTH_RULES,
    verdict: { tolerance: 0.01, minSamples: 100 },
    ...extra,
  });
}

describe('batch diff against generated ground truth', () => {
  const truth = generateGroundTruth();
  const live = files.write('live.ndjson', truth.live);
  const candidate = files.write('candidate.ndjson', truth.candidate);

  it('counts every record in exactly one bucket, with exact per-field kinds', async () => {
    const result = await runBatchDiff(comparison(), { live, candidate }, { samples: 3 });
    const { fields, ...expectedCounts } = truth.expected;
    expect(result.counts).toEqual({ ...expectedCounts, sampledOutLive: 0, sampledOutCandidate: 0 });
    const reported = Object.fromEntries(result.fields.map((f) => [f.path, { different: f.different, ...f.kinds }]));
    expect(reported).toEqual(fields);
    const { counts } = result;
    expect(counts.equal + counts.different + counts.missing).toBe(counts.live - counts.duplicateLive);
    expect(counts.equal + counts.different + counts.extra).toBe(counts.candidate - counts.duplicateCandidate);
  });

  it('keeps bounded, located samples of each outcome and of invalid records', async () => {
    const result = await runBatchDiff(comparison(), { live, candidate }, { samples: 2 });
    const amount = result.samples.filter((s) => s.outcome === 'different' && s.field === 'amount');
    expect(amount).toHaveLength(2);
    expect(amount[0]).toMatchObject({ kind: 'value', key: expect.stringMatching(/^o-\d+$/) });
    expect(amount[0]?.position?.live).toMatch(/live\.ndjson:\d+$/);
    expect(result.samples.filter((s) => s.outcome === 'missing')).toHaveLength(2);
    expect(result.samples.filter((s) => s.outcome === 'extra')).toHaveLength(2);
    const invalid = result.samples.filter((s) => s.outcome === 'invalid');
    expect(invalid.map((s) => `${s.side}:${s.reason}`).sort()).toEqual([
      'candidate:malformed',
      'candidate:missing_key',
      'live:malformed',
      'live:malformed',
    ]);
    const broken = invalid.find((s) => s.side === 'live');
    expect(broken?.raw).toBe('{"order_id": "broken", "amount": ');
    expect(broken?.position?.live).toBe(`${live}:3026`);
  });

  it('fails a candidate whose mismatch rate is far above the tolerance', async () => {
    const result = await runBatchDiff(comparison(), { live, candidate }, { samples: 0 });
    expect(result.verdict.verdict).toBe('FAIL');
    expect(result.verdict.stats.sampled).toBe(
      truth.expected.equal + truth.expected.different + truth.expected.missing + truth.expected.extra,
    );
  });

  it('keeps the first duplicate with duplicates: first', async () => {
    const result = await runBatchDiff(comparison({ duplicates: 'first' }), { live, candidate }, { samples: 0 });
    // The first copies of o-100…o-109 differ in amount; five of those keys (o-102…o-106) differ anyway.
    expect(result.counts.different).toBe(truth.expected.different + 5);
    expect(result.counts.duplicateCandidate).toBe(10);
  });

  it('stops with a clear error on duplicates: error', async () => {
    await expect(
      runBatchDiff(comparison({ duplicates: 'error' }), { live, candidate }, { samples: 0 }),
    ).rejects.toThrow(/duplicate key "o-10\d" on candidate/);
  });

  it('redacts sampled values', async () => {
    const result = await runBatchDiff(
      comparison({ redact: ['customer.name', 'amount'] }),
      { live, candidate },
      { samples: 5 },
    );
    const names = result.samples.filter((s) => s.field === 'customer.name' || s.field === 'amount');
    expect(names.length).toBeGreaterThan(0);
    for (const sample of names) {
      expect(sample.live).toBe('***');
      expect(sample.candidate).toBe('***');
    }
    for (const sample of result.samples.filter((s) => s.outcome === 'missing')) {
      expect((sample.live as Record<string, unknown>).amount).toBe('***');
    }
    expect(JSON.stringify(result.samples)).not.toContain('Zoë');
  });

  it('masks keys covered by redact, and invalid records it cannot redact by path', async () => {
    const result = await runBatchDiff(
      comparison({ redact: ['order_id', 'amount'] }),
      { live, candidate },
      { samples: 5 },
    );
    const keyed = result.samples.filter((s) => s.key !== undefined);
    expect(keyed.length).toBeGreaterThan(0);
    expect(new Set(keyed.map((s) => s.key))).toEqual(new Set(['***']));
    const raws = result.samples.filter((s) => s.outcome === 'invalid').map((s) => `${s.side}:${s.reason}:${s.raw}`);
    expect(raws.sort()).toEqual([
      // Not JSON: no path to redact by, so the whole text is masked.
      'candidate:malformed:***',
      'candidate:malformed:[1,2,3]',
      'candidate:missing_key:{"order_id":"***"}',
      'live:malformed:***',
      'live:malformed:***',
      'live:missing_key:{"amount":"***"}',
    ]);
  });

  it('with redact "*" shows paths, kinds and positions, and not one value of a record', async () => {
    const result = await runBatchDiff(comparison({ redact: '*' }), { live, candidate }, { samples: 5 });
    const outcomes = new Set(result.samples.map((s) => s.outcome));
    expect(outcomes).toEqual(new Set(['different', 'missing', 'extra', 'invalid']));
    // Every leaf is masked; member names and array elements stay, so the record's paths show.
    const leaves = (value: unknown): unknown[] =>
      value !== null && typeof value === 'object' ? Object.values(value).flatMap(leaves) : [value];
    for (const {
      position,
      outcome,
      field,
      kind,
      side,
      reason,
      key,
      live: l,
      candidate: c,
      raw,
      pair,
      ...rest
    } of result.samples) {
      expect(rest).toEqual({});
      // The whole record pair of a difference: every leaf masked too.
      if (outcome === 'different') {
        expect(new Set([...leaves(pair?.live), ...leaves(pair?.candidate)])).toEqual(new Set(['***']));
      } else expect(pair).toBeUndefined();
      expect(position).toBeDefined();
      if (key !== undefined) expect(key).toBe('***');
      for (const value of [l, c]) if (value !== undefined) expect(new Set(leaves(value))).toEqual(new Set(['***']));
      if (raw !== undefined) expect(raw === '***' || new Set(leaves(JSON.parse(raw))).size === 1).toBe(true);
      if (outcome === 'different') expect(field && kind).toBeTruthy();
      if (outcome === 'invalid') expect(side && reason).toBeTruthy();
    }
    const missing = result.samples.find((s) => s.outcome === 'missing');
    expect(missing?.live).toEqual({ order_id: '***', amount: '***' });
    const lostStatus = result.samples.find((s) => s.field === 'status');
    expect(lostStatus).toMatchObject({ kind: 'missing', live: '***' });
    expect(lostStatus?.candidate).toBeUndefined();
    const shown = JSON.stringify(result.samples.map(({ position, ...sample }) => sample));
    for (const value of ['o-', 'lost-', 'new-', 'Zoë', 'Zoe', 'broken', 'not json', 'paid', 'NEW', '9.99']) {
      expect(shown).not.toContain(value);
    }
    // Counts and fields are not records: they stay as without redaction.
    const plain = await runBatchDiff(comparison(), { live, candidate }, { samples: 0 });
    expect(result.counts).toEqual(plain.counts);
    expect(result.fields).toEqual(plain.fields);
  });

  it('samples the same keys on both sides', async () => {
    const result = await runBatchDiff(comparison({ sampling: { rate: 0.5 } }), { live, candidate }, { samples: 0 });
    const { counts } = result;
    // No key is missing or extra because of sampling: only the 25 lost and 15 new keys are.
    expect(counts.sampledOutLive).toBeGreaterThan(1200);
    expect(counts.sampledOutLive).toBeLessThan(1900);
    expect(counts.missing).toBeLessThanOrEqual(25);
    expect(counts.extra).toBeLessThanOrEqual(15);
    expect(counts.equal + counts.different + counts.missing).toBe(
      counts.live - counts.sampledOutLive - counts.duplicateLive,
    );
  });
});

/** The keys of `ids` that sampling at `rate` keeps, asked of DuckDB's md5 as SPEC §3 defines it. */
async function sampledKeys(ids: string[], rate: number): Promise<Set<string>> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll(
      `SELECT id FROM unnest([${ids.map(literal).join(', ')}]) AS t(id) WHERE md5_number_upper(id) < ${samplingThreshold(rate)}::UBIGINT`,
    );
    return new Set(reader.getRows().map(([id]) => id as string));
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

describe('sampled batch diff (--sample)', () => {
  const rate = 0.25;
  const deep = (id: string) => `{"id":"${id}","v":${'['.repeat(300)}${']'.repeat(300)}}`;

  it('filters by key hash before the text is checked or hashed, and says the verdict is on a sample', async () => {
    const ids = Array.from({ length: 2000 }, (_, i) => `k${i}`);
    const extras = Array.from({ length: 40 }, (_, i) => `x${i}`);
    const sampled = await sampledKeys(ids, rate);
    const sampledExtras = await sampledKeys(extras, rate);
    const unsampledIds = ids.filter((id) => !sampled.has(id));
    const sampledIds = ids.filter((id) => sampled.has(id));
    expect(sampled.size).toBeGreaterThan(300);

    const changed = (i: number) => i % 10 === 0;
    const dropped = (i: number) => i % 37 === 1;
    const liveLines = ids.map((id) => JSON.stringify({ id, amount: 1 }));
    // Too deep to diff: invalid where the key is sampled; where it is not, the text is never looked at.
    liveLines.push(deep(unsampledIds[0] as string), deep(unsampledIds[1] as string), deep(sampledIds[0] as string));
    const candidateLines = [
      ...ids.flatMap((id, i) => (dropped(i) ? [] : [JSON.stringify({ id, amount: changed(i) ? 2 : 1 })])),
      ...extras.map((id) => JSON.stringify({ id, amount: 1 })),
    ];
    const count = (test: (i: number) => boolean) => ids.filter((id, i) => sampled.has(id) && test(i)).length;

    const live = files.write('sampled-live.ndjson', liveLines.join('\n'));
    const candidate = files.write('sampled-candidate.ndjson', candidateLines.join('\n'));
    const comparison = await resolveComparison({ live, candidate, key: 'id', sample: rate, samples: 5 });
    const result = await runBatchDiff(comparison, { live, candidate }, { samples: 5 });
    expect(result.counts).toMatchObject({
      live: ids.length + 2,
      candidate: candidateLines.length,
      invalidLive: 1,
      sampledOutLive: ids.length + 2 - sampled.size,
      sampledOutCandidate: candidateLines.length - count((i) => !dropped(i)) - sampledExtras.size,
      equal: count((i) => !changed(i) && !dropped(i)),
      different: count((i) => changed(i) && !dropped(i)),
      missing: count(dropped),
      extra: sampledExtras.size,
      duplicateLive: 0,
    });
    expect(result.invalidReasons.live).toEqual({ too_deep: 1 });
    expect(result.verdict.reason).toContain(`(on a key sample at rate ${rate})`);
    expect(result.verdict.stats).toMatchObject({ samplingRate: rate });
  });
});

describe('texts of differing records read again by position', () => {
  // Lines as writers leave them: CRLF, spaces around the object, blank lines, a BOM, duplicates.
  const row = (id: number, amount: number) => JSON.stringify({ order_id: `o-${id}`, amount, note: `n${id}` });
  const liveLines = [`\uFEFF${row(0, 0)}`];
  const candidateLines: string[] = [];
  for (let id = 1; id < 300; id++) {
    if (id % 50 === 3) liveLines.push('', '  ');
    const spaced = id % 7 === 0 ? `  ${row(id, id)}\t\r` : `${row(id, id)}\r`;
    liveLines.push(spaced);
    if (id % 100 === 9) continue; // o-9, o-109, o-209 missing
    if (id % 10 === 4) candidateLines.push(row(id, -1)); // a duplicate: the last copy is compared
    candidateLines.push(id % 10 === 4 || id % 10 === 7 ? row(id, id + 0.5) : row(id, id));
  }
  candidateLines.push(row(0, 0), row(1000, 1)); // o-1000 extra
  const liveText = `${liveLines.join('\n')}\n`;
  const candidateText = candidateLines.join('\n');
  const single = {
    live: files.write('by-position-live.ndjson', liveText),
    candidate: files.write('by-position-candidate.ndjson', candidateText),
  };
  // The same records in a folder of two files per side: texts are read again by DuckDB and their hash.
  const half = (text: string) => {
    const lines = text.split('\n');
    return [lines.slice(0, 150).join('\n'), lines.slice(150).join('\n')];
  };
  const [live0, live1] = half(liveText.replace(/^\uFEFF/, ''));
  const [candidate0, candidate1] = half(candidateText);

  it('finds exactly the differing records, with their values and lines, as the hash path does', async () => {
    const config = comparison({ compare: {}, verdict: { tolerance: 0.5, minSamples: 1 } });
    const result = await runBatchDiff(config, single, { samples: 100 });
    // 300 keys on live less 3 missing are on both sides: o-4, o-14, … (30) and o-7, o-17, … (30) differ.
    expect(result.counts).toMatchObject({
      live: 300,
      candidate: 297 + 30 + 1,
      equal: 297 - 60,
      different: 60,
      missing: 3,
      extra: 1,
      duplicateCandidate: 30,
    });
    const different = result.samples.filter((s) => s.outcome === 'different');
    expect(different).toHaveLength(60);
    const o14 = different.find((s) => s.key === 'o-14');
    expect(o14).toMatchObject({ field: 'amount', live: 14, candidate: 14.5 });
    // Line 17 of live: o-14 after the BOM line (o-0), o-1, o-2 and two blank lines after o-2.
    expect(o14?.position?.live).toBe(`${single.live}:17`);
    expect(o14?.pair).toMatchObject({ live: { order_id: 'o-14', amount: 14, note: 'n14' } });
    const o7 = different.find((s) => s.key === 'o-7');
    expect(o7?.pair).toMatchObject({ live: { order_id: 'o-7', amount: 7 } });
    const missing = result.samples.filter((s) => s.outcome === 'missing').map((s) => s.live);
    expect(missing).toEqual([
      { order_id: 'o-9', amount: 9, note: 'n9' },
      { order_id: 'o-109', amount: 109, note: 'n109' },
      { order_id: 'o-209', amount: 209, note: 'n209' },
    ]);
    expect(result.samples.find((s) => s.outcome === 'extra')?.candidate).toEqual({
      order_id: 'o-1000',
      amount: 1,
      note: 'n1000',
    });

    for (const side of ['live', 'candidate']) mkdirSync(join(files.dir, 'by-hash', side), { recursive: true });
    files.write('by-hash/live/part-0.ndjson', live0 as string);
    files.write('by-hash/live/part-1.ndjson', live1 as string);
    files.write('by-hash/candidate/part-0.ndjson', candidate0 as string);
    files.write('by-hash/candidate/part-1.ndjson', candidate1 as string);
    const byHash = await runBatchDiff(
      config,
      { live: `${files.dir}/by-hash/live`, candidate: `${files.dir}/by-hash/candidate` },
      { samples: 100 },
    );
    const withoutPositions = (r: typeof result) => ({
      counts: r.counts,
      fields: r.fields,
      samples: r.samples.map(({ position: _, ...sample }) => sample),
    });
    expect(withoutPositions(byHash)).toEqual(withoutPositions(result));
    // One side by position, the other by hash: the text hashes of both sides are still of one kind.
    const mixed = await runBatchDiff(
      config,
      { live: single.live, candidate: `${files.dir}/by-hash/candidate` },
      { samples: 100 },
    );
    expect(withoutPositions(mixed)).toEqual(withoutPositions(result));
  });
});
