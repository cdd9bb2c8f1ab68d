import { isUtf8 } from 'node:buffer';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isDecodeError } from '../../src/codec/decode-error.js';
import { checkJsonMessage } from '../../src/codec/json.js';
import { fuzzOptions } from './fuzz.js';

const MAX_BYTES = 256;

/** JSON-looking texts with the bytes that trip decoders: BOM, U+001E, lone surrogates, NUL. */
const jsonish = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value)),
  fc
    .tuple(
      fc.jsonValue({ maxDepth: 2 }).map((value) => JSON.stringify({ v: value })),
      fc.nat(40),
      fc.constantFrom('\u001e', '\ufeff', '\ud800', '\u0000', '\\', '"', '}', '\n'),
    )
    .map(([text, at, inject]) => text.slice(0, at) + inject + text.slice(at)),
);

const message = fc.oneof(
  jsonish.map((text) => Buffer.from(text, 'utf8')),
  fc.uint8Array({ maxLength: MAX_BYTES + 16 }).map((bytes) => Buffer.from(bytes)),
  fc.tuple(jsonish, fc.uint8Array({ minLength: 1, maxLength: 4 }), fc.nat(64)).map(([text, bytes, at]) => {
    const buf = Buffer.from(text, 'utf8');
    return Buffer.concat([buf.subarray(0, at), Buffer.from(bytes), buf.subarray(at)]);
  }),
);

describe('JSON message checks under random bytes', () => {
  it('pass exactly the bounded, valid UTF-8 messages without U+001E, unchanged; refuse the rest as invalid', () => {
    fc.assert(
      fc.property(message, (buf) => {
        const acceptable = buf.length <= MAX_BYTES && isUtf8(buf) && !buf.includes(0x1e);
        try {
          expect(checkJsonMessage(buf, MAX_BYTES)).toBe(buf);
          expect(acceptable).toBe(true);
        } catch (error) {
          if (!isDecodeError(error)) throw error;
          expect(acceptable).toBe(false);
          expect(error.reason).toBe(buf.length > MAX_BYTES ? 'oversized' : 'malformed');
        }
      }),
      fuzzOptions(),
    );
  });
});
