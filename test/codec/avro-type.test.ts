import avsc from 'avsc';
import { describe, expect, it } from 'vitest';
import { parseAvroType } from '../../src/codec/avro-type.js';

const longType = parseAvroType('long');

describe('parseAvroType longs', () => {
  it.each([
    [0, '00'],
    [-1, '01'],
    [1, '02'],
    [-64, '7f'],
    [64, '8001'],
    [Number.MAX_SAFE_INTEGER, 'feffffffffffff1f'],
    [Number.MIN_SAFE_INTEGER, 'fdffffffffffff1f'],
  ])('round-trips %d as a number with the standard Avro encoding', (value, hex) => {
    const buf = longType.toBuffer(value);
    expect(buf.toString('hex')).toBe(hex);
    expect(longType.fromBuffer(buf)).toBe(value);
  });

  it.each([
    [2n ** 53n, '8080808080808020'],
    [-(2n ** 53n) - 1n, '8180808080808020'],
    [2n ** 63n - 1n, 'feffffffffffffffff01'],
    [-(2n ** 63n), 'ffffffffffffffffff01'],
    [1_700_000_000_123_456_789n, 'aab4aed8c7bfce972f'],
  ])('keeps %s exact as a bigint', (value, hex) => {
    const buf = longType.toBuffer(value);
    expect(buf.toString('hex')).toBe(hex);
    expect(longType.fromBuffer(buf)).toBe(value);
  });

  it('reads and writes the same bytes as avsc’s own long type', () => {
    const plain = avsc.Type.forSchema('long');
    for (const value of [0, 5, -5, 123_456_789, -(2 ** 40), 2 ** 52 + 1, -(2 ** 50) - 3]) {
      expect(longType.fromBuffer(plain.toBuffer(value))).toBe(value);
      expect(plain.fromBuffer(longType.toBuffer(value))).toBe(value);
    }
  });

  it('turns safe bigints into numbers and rejects values beyond 64 bits', () => {
    expect(longType.fromBuffer(longType.toBuffer(42n))).toBe(42);
    expect(longType.isValid(2n ** 63n)).toBe(false);
    expect(longType.isValid(1.5)).toBe(false);
    expect(longType.isValid(2 ** 60)).toBe(false);
    expect(() => longType.fromBuffer(Buffer.from('ffffffffffffffffff7f', 'hex'))).toThrow(
      'invalid long: more than 64 bits',
    );
    expect(() => longType.fromBuffer(Buffer.from('ffffffffffffffffffff01', 'hex'))).toThrow(
      'invalid long: 11-byte varint',
    );
  });

  it('resolves named types from references', () => {
    const money = { type: 'record', name: 'Money', namespace: 'com.acme', fields: [{ name: 'cents', type: 'long' }] };
    const order = {
      type: 'record',
      name: 'Order',
      namespace: 'com.acme',
      fields: [{ name: 'total', type: 'com.acme.Money' }],
    };
    const type = parseAvroType(order, [money]);
    expect(type.fromBuffer(type.toBuffer({ total: { cents: 2n ** 60n } }))).toEqual({ total: { cents: 2n ** 60n } });
    expect(() => parseAvroType(order)).toThrow('undefined type name: com.acme.Money');
  });
});
