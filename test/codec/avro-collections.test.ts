import { describe, expect, it } from 'vitest';
import { ZERO_BYTE_ITEMS } from '../../src/codec/avro-collections.js';
import { decodeAvroBody } from '../../src/codec/avro-schema.js';
import { parseAvroType } from '../../src/codec/avro-type.js';
import { type DecodeError, isDecodeError } from '../../src/codec/decode-error.js';

/** A record of one field, so a body is exactly the field's encoding. */
const recordOf = (type: unknown) => parseAvroType({ type: 'record', name: 'R', fields: [{ name: 'v', type }] });

const ints = recordOf({ type: 'array', items: 'int' });
const doubles = recordOf({ type: 'map', values: 'double' });
const nulls = recordOf({ type: 'array', items: 'null' });
const nestedNulls = recordOf({ type: 'array', items: { type: 'array', items: 'null' } });
const empties = recordOf({ type: 'array', items: { type: 'record', name: 'Empty', fields: [] } });

/** Zig-zag varint of a non-negative count. */
function varint(count: number): Buffer {
  const bytes: number[] = [];
  for (let n = count * 2; ; n = Math.floor(n / 128)) {
    bytes.push(n < 128 ? n : (n % 128) | 0x80);
    if (n < 128) return Buffer.from(bytes);
  }
}

function decodeError(run: () => unknown): DecodeError {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(isDecodeError(caught)).toBe(true);
  return caught as DecodeError;
}

describe('Avro array and map block counts', () => {
  // Before: 17 s and ~400 MB for the array (2^26 items promised), 0.6 s for the map (2^23).
  it.each([
    ['array of int', ints, '80808040', /^invalid Avro body: array block of 67108864 items, but only 0 bytes are left/],
    ['map of double', doubles, '80808008', /^invalid Avro body: map block of 8388608 items, but only 0 bytes are left/],
  ])('turns a damaged %s count (%s) into a malformed record at once', (_name, type, hex, message) => {
    const error = decodeError(() => decodeAvroBody(type, Buffer.from(hex as string, 'hex')));
    expect(error.reason).toBe('malformed');
    expect(error.message).toMatch(message as RegExp);
  });

  it('refuses a count above the bytes left, and reads one that fits', () => {
    const body = Buffer.concat([varint(5), Buffer.from([2, 4, 6]), varint(0)]);
    expect(decodeError(() => decodeAvroBody(ints, body)).message).toMatch(/array block of 5 items, but only 4 bytes/);
    const fits = Buffer.concat([varint(3), Buffer.from([2, 4, 6]), varint(0)]);
    expect(decodeAvroBody(ints, fits)).toBe('{"v":[1,2,3]}');
  });

  it('reads blocks written with a negative count and a byte size, and several blocks', () => {
    // -2 items in 2 bytes, then 1 item, then the end.
    const body = Buffer.from([0x03, 0x04, 0x02, 0x04, 0x02, 0x06, 0x00]);
    expect(decodeAvroBody(ints, body)).toBe('{"v":[1,2,3]}');
    const map = Buffer.concat([varint(1), doubles.toBuffer({ v: { a: 1.5 } }).subarray(1, -1), varint(0)]);
    expect(decodeAvroBody(doubles, map)).toBe('{"v":{"a":1.5}}');
  });

  it('reads zero-byte items up to the limit per record, and refuses more', () => {
    expect(decodeAvroBody(nulls, Buffer.concat([varint(3), varint(0)]))).toBe('{"v":[null,null,null]}');
    expect(decodeAvroBody(empties, Buffer.concat([varint(2), varint(0)]))).toBe('{"v":[{},{}]}');
    const full = JSON.parse(decodeAvroBody(nulls, Buffer.concat([varint(ZERO_BYTE_ITEMS), varint(0)])));
    expect(full.v).toHaveLength(ZERO_BYTE_ITEMS);

    const huge = Buffer.concat([varint(2 ** 40), varint(0)]);
    expect(decodeError(() => decodeAvroBody(nulls, huge)).message).toMatch(
      new RegExp(`array block of ${2 ** 40} items exceeds the limit of ${ZERO_BYTE_ITEMS} zero-byte items`),
    );
    // The limit holds across collections: two inner arrays of 3/4 of it each.
    const inner = Buffer.concat([varint((ZERO_BYTE_ITEMS / 4) * 3), varint(0)]);
    const nested = Buffer.concat([varint(2), inner, inner, varint(0)]);
    expect(decodeError(() => decodeAvroBody(nestedNulls, nested)).reason).toBe('malformed');
  });

  it('keeps a map entry keyed __proto__, which plain assignment would drop', () => {
    const strings = recordOf({ type: 'map', values: 'string' });
    const text = '{"v":{"__proto__":"a","b":"c"}}';
    expect(decodeAvroBody(strings, strings.toBuffer(JSON.parse(text)))).toBe(text);
    // Values that are converted (doubles) go through avro-json's map converter too.
    const doubleText = '{"v":{"__proto__":1.5}}';
    expect(decodeAvroBody(doubles, doubles.toBuffer(JSON.parse(doubleText)))).toBe(doubleText);
  });
});
