import { afterAll, describe, expect, it } from 'vitest';
import { parseComparison } from '../../src/config/load.js';
import { runBatchDiff } from '../../src/diff/batch.js';
import { redactor, redactSample } from '../../src/diff/redact.js';
import { PAIR_RECORD_CHARS } from '../../src/diff/samples.js';
import { tempDir } from '../helpers/tmp.js';

const files = tempDir();
afterAll(() => files.remove());

async function diff(live: object[], candidate: object[], redact: string[] = []) {
  const text = (rows: object[]) => `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`;
  const name = Math.random().toString(36).slice(2);
  const comparison = parseComparison({
    id: 'pairs',
    live: { file: { path: 'unused' } },
    candidate: { file: { path: 'unused' } },
    key: ['id'],
    redact,
    verdict: { tolerance: 0.5, minSamples: 1 },
  });
  return runBatchDiff(
    comparison,
    { live: files.write(`${name}-l.ndjson`, text(live)), candidate: files.write(`${name}-c.ndjson`, text(candidate)) },
    { samples: 5 },
  );
}

describe('a difference keeps its whole record pair', () => {
  it('holds both whole records, redacted, and every field the pair differs in', async () => {
    const live = [{ id: 1, amount: 10, items: [{ sku: 'a' }, { sku: 'b' }], customer: { email: 'x@l', name: 'Ann' } }];
    const candidate = [
      { id: 1, amount: 11, items: [{ sku: 'a' }, { sku: 'c' }], customer: { email: 'y@c', name: 'Ann' } },
    ];
    const result = await diff(live, candidate, ['customer.email']);
    const samples = result.samples.filter((s) => s.outcome === 'different');
    expect(samples.map((s) => s.field).sort()).toEqual(['amount', 'customer.email', 'items[].sku']);
    for (const sample of samples) {
      expect(sample.pair).toEqual({
        live: { id: 1, amount: 10, items: [{ sku: 'a' }, { sku: 'b' }], customer: { email: '***', name: 'Ann' } },
        candidate: { id: 1, amount: 11, items: [{ sku: 'a' }, { sku: 'c' }], customer: { email: '***', name: 'Ann' } },
        fields: ['amount', 'items[].sku', 'customer.email'],
      });
    }
    expect(JSON.stringify(result.samples)).not.toMatch(/x@l|y@c/);
  });

  it(`keeps no records longer than ${PAIR_RECORD_CHARS} characters, and says so`, async () => {
    const long = 'x'.repeat(PAIR_RECORD_CHARS);
    const result = await diff([{ id: 1, a: 1, blob: long }], [{ id: 1, a: 2, blob: long }]);
    const [sample] = result.samples;
    expect(sample?.pair?.live).toBeUndefined();
    expect(sample?.pair?.candidate).toBeUndefined();
    expect(sample?.pair?.fields).toEqual(['a']);
    expect(sample?.pair?.omitted).toMatch(/longer than the 16384 kept/);
    expect(JSON.stringify(sample).length).toBeLessThan(1000);
  });

  it('is masked again when read, under a redaction added since', () => {
    const stored = {
      outcome: 'different' as const,
      field: 'a',
      live: 1,
      candidate: 2,
      pair: { live: { a: 1, secret: 's1' }, candidate: { a: 2, secret: 's2' }, fields: ['a'] },
    };
    expect(redactSample(redactor(['secret']), stored).pair).toEqual({
      live: { a: 1, secret: '***' },
      candidate: { a: 2, secret: '***' },
      fields: ['a'],
    });
  });
});
