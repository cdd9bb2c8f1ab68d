import fc from 'fast-check';
import { parseAvroType } from '../../src/codec/avro-type.js';

/** One schema with every Avro type shadowdiff decodes: primitives, 64-bit longs, unions, named and nested types. */
export const FUZZ_SCHEMA = parseAvroType({
  type: 'record',
  name: 'Order',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'n', type: 'long' },
    { name: 'i', type: 'int' },
    { name: 'd', type: 'double' },
    { name: 'f', type: 'float' },
    { name: 'b', type: 'boolean' },
    { name: 'raw', type: 'bytes' },
    { name: 'opt', type: ['null', 'string'] },
    { name: 'e', type: { type: 'enum', name: 'Status', symbols: ['NEW', 'PAID', 'SHIPPED'] } },
    { name: 'fx', type: { type: 'fixed', name: 'Four', size: 4 } },
    { name: 'items', type: { type: 'array', items: 'int' } },
    { name: 'm', type: { type: 'map', values: 'double' } },
    {
      name: 'next',
      type: ['null', { type: 'record', name: 'Link', fields: [{ name: 'next', type: ['null', 'Link'] }] }],
    },
  ],
});

type Link = { next: Link | null };
const link: fc.Arbitrary<Link | null> = fc.letrec<{ link: Link | null }>((tie) => ({
  link: fc.oneof({ depthSize: 'small', withCrossShrink: true }, fc.constant(null), fc.record({ next: tie('link') })),
})).link;

const LONG_MIN = -(1n << 63n);
const LONG_MAX = (1n << 63n) - 1n;

/** Values of FUZZ_SCHEMA, longs beyond 2^53 included. */
export const order = fc.record({
  id: fc.string(),
  n: fc.oneof(
    fc.maxSafeInteger(),
    fc.bigInt({ min: LONG_MIN, max: LONG_MAX }).filter((v) => v < -(2n ** 53n) || v > 2n ** 53n),
  ),
  i: fc.integer(),
  d: fc.double(),
  f: fc.float({ noDefaultInfinity: false }),
  b: fc.boolean(),
  raw: fc.uint8Array({ maxLength: 8 }).map((bytes) => Buffer.from(bytes)),
  opt: fc.option(fc.string(), { nil: null }),
  e: fc.constantFrom('NEW', 'PAID', 'SHIPPED'),
  fx: fc.uint8Array({ minLength: 4, maxLength: 4 }).map((bytes) => Buffer.from(bytes)),
  items: fc.array(fc.integer(), { maxLength: 4 }),
  m: fc.dictionary(fc.string({ maxLength: 4 }), fc.double(), { maxKeys: 3 }),
  next: link,
});

/**
 * Known codec bug, reported and left to the codec's owner: avsc trusts an array or map block
 * count before it sees the body end. A damaged count makes it loop (and, for arrays, allocate) for
 * every promised item: a map count of 2^23 (body `80808008`) takes 0.6 s, one of 2^40 (6 bytes)
 * about a day; an array count of 2^26 (`80808040`) takes 17 s and 400 MB. So damaged and random
 * bodies are decoded against this schema without arrays and maps; valid bodies use FUZZ_SCHEMA.
 */
export const DAMAGE_SCHEMA = parseAvroType({
  type: 'record',
  name: 'Flat',
  fields: (FUZZ_SCHEMA as unknown as { fields: { name: string; type: unknown }[] }).fields
    .filter((field) => field.name !== 'items' && field.name !== 'm')
    .map((field) => ({ name: field.name, type: (field.type as { schema(): unknown }).schema() })),
});

const flat = order.map(({ items: _items, m: _m, ...rest }) => rest);

/** Valid bodies of DAMAGE_SCHEMA damaged (bits flipped, cut, extended), and random bytes. */
export const avroBody = fc.oneof(
  flat.map((value) => DAMAGE_SCHEMA.toBuffer(value)),
  fc.tuple(flat, fc.nat(), fc.nat(7)).map(([value, at, bit]) => {
    const buf = Buffer.from(DAMAGE_SCHEMA.toBuffer(value));
    const i = at % buf.length;
    buf[i] = (buf[i] ?? 0) ^ (1 << bit);
    return buf;
  }),
  fc.tuple(flat, fc.nat()).map(([value, cut]) => {
    const buf = DAMAGE_SCHEMA.toBuffer(value);
    return buf.subarray(0, cut % buf.length);
  }),
  fc
    .tuple(flat, fc.uint8Array({ minLength: 1, maxLength: 8 }))
    .map(([value, tail]) => Buffer.concat([DAMAGE_SCHEMA.toBuffer(value), Buffer.from(tail)])),
  fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)),
);
