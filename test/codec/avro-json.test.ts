import { describe, expect, it } from 'vitest';
import { avroRecordToJsonText, avroValueToJson } from '../../src/codec/avro-json.js';
import { jsonNumber } from '../../src/codec/avro-logical.js';
import { parseAvroType } from '../../src/codec/avro-type.js';
import { DecodeError } from '../../src/codec/decode-error.js';

const ORDER_SCHEMA = {
  type: 'record',
  name: 'Order',
  namespace: 'com.acme',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'big', type: 'long' },
    { name: 'qty', type: 'int' },
    { name: 'price', type: 'double' },
    { name: 'ratio', type: 'float' },
    { name: 'paid', type: 'boolean' },
    { name: 'nothing', type: 'null' },
    { name: 'note', type: ['null', 'string'] },
    { name: 'missingNote', type: ['null', 'string'], default: null },
    { name: 'status', type: { type: 'enum', name: 'Status', symbols: ['NEW', 'PAID', 'SHIPPED'] } },
    { name: 'raw', type: 'bytes' },
    { name: 'digest', type: { type: 'fixed', name: 'Digest', size: 4 } },
    { name: 'createdAt', type: { type: 'long', logicalType: 'timestamp-millis' } },
    { name: 'day', type: { type: 'int', logicalType: 'date' } },
    { name: 'amount', type: { type: 'bytes', logicalType: 'decimal', precision: 9, scale: 2 } },
    {
      name: 'customer',
      type: {
        type: 'record',
        name: 'Customer',
        fields: [
          { name: 'name', type: 'string' },
          { name: 'tags', type: { type: 'array', items: 'string' } },
        ],
      },
    },
    {
      name: 'items',
      type: {
        type: 'array',
        items: {
          type: 'record',
          name: 'Item',
          fields: [
            { name: 'sku', type: 'string' },
            { name: 'cents', type: 'long' },
            { name: 'blob', type: ['null', 'bytes'] },
          ],
        },
      },
    },
    { name: 'attributes', type: { type: 'map', values: 'string' } },
    { name: 'counters', type: { type: 'map', values: 'long' } },
    // Two records in one union: avsc must wrap it, shadowdiff unwraps it.
    {
      name: 'payment',
      type: [
        'null',
        { type: 'record', name: 'Card', fields: [{ name: 'last4', type: 'string' }] },
        {
          type: 'record',
          name: 'Iban',
          fields: [
            { name: 'iban', type: 'string' },
            { name: 'fee', type: 'float' },
          ],
        },
      ],
    },
    { name: 'number', type: ['null', 'int', 'double', 'string'] },
  ],
};

const type = parseAvroType(ORDER_SCHEMA);

const value = {
  id: 42,
  big: 9_007_199_254_740_993n,
  qty: 3,
  price: 19.99,
  ratio: 0.5,
  paid: true,
  nothing: null,
  note: 'leave at door',
  missingNote: null,
  status: 'PAID',
  raw: Buffer.from([0x00, 0x41, 0xe9, 0xff]),
  digest: Buffer.from('ab\x80\x7f', 'latin1'),
  createdAt: 1_700_000_000_123,
  day: 19_700,
  amount: Buffer.from([0x30, 0x39]),
  customer: { name: 'Zoë', tags: ['vip', 'eu'] },
  items: [
    { sku: 'A-1', cents: 1999, blob: null },
    { sku: 'B-2', cents: -(2n ** 62n), blob: Buffer.from([1, 2]) },
  ],
  attributes: { channel: 'web', 'x.y': 'z' },
  counters: { small: 1, huge: 2n ** 63n - 1n },
  payment: { 'com.acme.Iban': { iban: 'DE89', fee: 0.25 } },
  number: { double: 7.5 },
};

describe('avroValueToJson', () => {
  it('round-trips every Avro type to its JSON-safe form', () => {
    const decoded = type.fromBuffer(type.toBuffer(value));
    expect(avroValueToJson(type, decoded)).toEqual({
      id: 42,
      big: jsonNumber('9007199254740993'),
      qty: 3,
      price: 19.99,
      ratio: 0.5,
      paid: true,
      nothing: null,
      note: 'leave at door',
      missingNote: null,
      status: 'PAID',
      raw: '\u0000A\u00e9\u00ff',
      digest: 'ab\u0080\u007f',
      createdAt: '2023-11-14 22:13:20.123+00',
      day: '2023-12-09',
      amount: jsonNumber('123.45'),
      customer: { name: 'Zoë', tags: ['vip', 'eu'] },
      items: [
        { sku: 'A-1', cents: 1999, blob: null },
        { sku: 'B-2', cents: jsonNumber('-4611686018427387904'), blob: '\u0001\u0002' },
      ],
      attributes: { channel: 'web', 'x.y': 'z' },
      counters: { small: 1, huge: jsonNumber('9223372036854775807') },
      payment: { iban: 'DE89', fee: 0.25 },
      number: 7.5,
    });
  });

  it('writes JSON text in schema field order', () => {
    const decoded = type.fromBuffer(type.toBuffer({ ...value, payment: null, number: { string: 'x' } }));
    const text = avroRecordToJsonText(type, decoded);
    expect(text).toBe(
      '{"id":42,"big":9007199254740993,"qty":3,"price":19.99,"ratio":0.5,"paid":true,"nothing":null,' +
        '"note":"leave at door","missingNote":null,"status":"PAID","raw":"\\u0000Aéÿ","digest":"ab\u0080\u007f",' +
        '"createdAt":"2023-11-14 22:13:20.123+00","day":"2023-12-09","amount":123.45,"customer":{"name":"Zoë","tags":["vip","eu"]},' +
        '"items":[{"sku":"A-1","cents":1999,"blob":null},{"sku":"B-2","cents":-4611686018427387904,"blob":"\\u0001\\u0002"}],' +
        '"attributes":{"channel":"web","x.y":"z"},"counters":{"small":1,"huge":9223372036854775807},' +
        '"payment":null,"number":"x"}',
    );
  });

  it('keeps NaN and infinities visible as strings instead of null', () => {
    const doubles = parseAvroType({
      type: 'record',
      name: 'D',
      fields: [
        { name: 'a', type: 'double' },
        { name: 'b', type: 'float' },
        { name: 'c', type: ['null', 'double'] },
        { name: 'd', type: { type: 'array', items: 'double' } },
      ],
    });
    const decoded = doubles.fromBuffer(
      doubles.toBuffer({
        a: Number.NaN,
        b: Number.POSITIVE_INFINITY,
        c: Number.NEGATIVE_INFINITY,
        d: [1.5, Number.NaN],
      }),
    );
    expect(avroValueToJson(doubles, decoded)).toEqual({ a: 'NaN', b: 'Infinity', c: '-Infinity', d: [1.5, 'NaN'] });
  });

  it('returns values that need no conversion as they are', () => {
    const plain = parseAvroType({
      type: 'record',
      name: 'P',
      fields: [
        { name: 's', type: 'string' },
        { name: 'n', type: ['null', 'int'] },
        { name: 'm', type: { type: 'map', values: { type: 'array', items: 'boolean' } } },
      ],
    });
    const decoded = plain.fromBuffer(plain.toBuffer({ s: 'x', n: 1, m: { k: [true] } }));
    expect(avroValueToJson(plain, decoded)).toBe(decoded);
    expect(JSON.parse(avroRecordToJsonText(plain, decoded))).toEqual({ s: 'x', n: 1, m: { k: [true] } });
  });

  it('converts recursive records', () => {
    const list = parseAvroType({
      type: 'record',
      name: 'Node',
      fields: [
        { name: 'id', type: 'long' },
        { name: 'next', type: ['null', 'Node'] },
      ],
    });
    const decoded = list.fromBuffer(list.toBuffer({ id: 1, next: { id: 2n ** 60n, next: { id: 3, next: null } } }));
    expect(avroValueToJson(list, decoded)).toEqual({
      id: 1,
      next: { id: jsonNumber('1152921504606846976'), next: { id: 3, next: null } },
    });
  });

  it('refuses a top-level value that is not a JSON object', () => {
    const strings = parseAvroType('string');
    expect(() => avroRecordToJsonText(strings, 'hello')).toThrow(DecodeError);
    try {
      avroRecordToJsonText(parseAvroType({ type: 'array', items: 'int' }), [1]);
    } catch (error) {
      expect((error as DecodeError).reason).toBe('not_object');
      expect((error as DecodeError).message).toBe('Avro value of type array is not a record');
    }
  });
});
