import fc from 'fast-check';
import { parseAvroType } from '../../src/codec/avro-type.js';

/**
 * One schema with every Avro type shadowdiff decodes: primitives, 64-bit longs, unions, named and
 * nested types, and an array of zero-byte items.
 */
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
    { name: 'nils', type: { type: 'array', items: 'null' } },
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
  nils: fc.array(fc.constant(null), { maxLength: 3 }),
  next: link,
});

/**
 * Valid bodies of FUZZ_SCHEMA, damaged ones (bits flipped, cut, extended) and random bytes. A
 * flipped bit in an array or map count promises up to 2^63 items: decoding must refuse it at once.
 */
export const avroBody = fc.oneof(
  order.map((value) => FUZZ_SCHEMA.toBuffer(value)),
  fc.tuple(order, fc.nat(), fc.nat(7)).map(([value, at, bit]) => {
    const buf = Buffer.from(FUZZ_SCHEMA.toBuffer(value));
    const i = at % buf.length;
    buf[i] = (buf[i] ?? 0) ^ (1 << bit);
    return buf;
  }),
  fc.tuple(order, fc.nat()).map(([value, cut]) => {
    const buf = FUZZ_SCHEMA.toBuffer(value);
    return buf.subarray(0, cut % buf.length);
  }),
  fc
    .tuple(order, fc.uint8Array({ minLength: 1, maxLength: 8 }))
    .map(([value, tail]) => Buffer.concat([FUZZ_SCHEMA.toBuffer(value), Buffer.from(tail)])),
  fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)),
);
