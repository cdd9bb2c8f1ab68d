import { describe, expect, it } from 'vitest';
import { parseExact } from '../../src/diff/exact-json.js';
import { REDACTED, redactor, redactSample } from '../../src/diff/redact.js';

const record = {
  order_id: 'o-1',
  customer: { email: 'zoe@example.com', tier: 'gold' },
  items: [{ sku: 's-1', price: 9.99 }],
  note: null,
};

describe('redactor', () => {
  it('masks the values under the paths it is given, and nothing else', () => {
    const redact = redactor(['customer.email', 'items[].price'], ['order_id']);
    expect(redact(record)).toEqual({
      order_id: 'o-1',
      customer: { email: REDACTED, tier: 'gold' },
      items: [{ sku: 's-1', price: REDACTED }],
      note: null,
    });
    expect(redact('zoe@example.com', 'customer.email')).toBe(REDACTED);
    expect(redact.key('o-1')).toBe('o-1');
  });

  it('with "*" masks numbers read exactly (beyond 2^53, NaN) like any other value', () => {
    const exact = parseExact('{"id":9007199254740993,"v":[1e400,NaN],"s":"x"}');
    expect(JSON.stringify(redactor(['*'])(exact))).toBe('{"id":"***","v":["***","***"],"s":"***"}');
    expect(redactor(['*']).text('{"id":9007199254740993}')).toBe('{"id":"***"}');
    expect(redactor(['s']).text('{"id":9007199254740993,"s":"x"}')).toBe('{"id":9007199254740993,"s":"***"}');
  });

  it('with "*" masks every value, null included, and keeps members and elements', () => {
    const redact = redactor(['*'], ['order_id']);
    expect(redact(record)).toEqual({
      order_id: REDACTED,
      customer: { email: REDACTED, tier: REDACTED },
      items: [{ sku: REDACTED, price: REDACTED }],
      note: REDACTED,
    });
    expect(redact(12, 'amount')).toBe(REDACTED);
    expect(redact(undefined, 'amount')).toBeUndefined();
    expect(redact.key('o-1')).toBe(REDACTED);
  });

  it('masks a key when a redacted path covers one of its fields', () => {
    expect(redactor(['customer'], ['region', 'customer.id']).key('eu|42')).toBe(REDACTED);
    expect(redactor(['customer.email'], ['region', 'customer.id']).key('eu|42')).toBe('eu|42');
  });

  it('redacts the text of an invalid record as JSON, and masks text it cannot parse', () => {
    const redact = redactor(['customer.email']);
    expect(redact.text('{"customer": {"email": "zoe@example.com"}}')).toBe('{"customer":{"email":"***"}}');
    expect(redact.text('{"customer": {"email": "zoe@exa')).toBe(REDACTED);
    expect(redactor(['*']).text('[1, "a"]')).toBe('["***","***"]');
    expect(redactor(['*']).text('"just text"')).toBe(REDACTED);
    // Nothing to redact: the text as it arrived.
    expect(redactor([]).text('{"customer": {"email": "zoe@exa')).toBe('{"customer": {"email": "zoe@exa');
  });

  it('masks a sample once and for all: masking again changes nothing', () => {
    const redact = redactor(['*'], ['order_id']);
    const sample = {
      outcome: 'different' as const,
      key: 'o-1',
      field: 'customer',
      kind: 'value' as const,
      live: { email: 'zoe@example.com' },
      candidate: { email: 'zoe@example.org' },
    };
    const masked = redactSample(redact, sample);
    expect(masked).toEqual({ ...sample, key: REDACTED, live: { email: REDACTED }, candidate: { email: REDACTED } });
    expect(redactSample(redact, masked)).toEqual(masked);
    const byPath = redactor(['customer.email']);
    expect(redactSample(byPath, sample).live).toEqual({ email: REDACTED });
    expect(redactSample(byPath, { outcome: 'missing', live: record }).live).toMatchObject({
      customer: { email: REDACTED, tier: 'gold' },
    });
  });
});
