import { describe, expect, it } from 'vitest';
import { snappyUncompress } from '../../src/codec/snappy.js';

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');

describe('snappyUncompress', () => {
  it('expands literals and an overlapping 1-byte-offset copy', () => {
    // length 13 | literal "abc" | copy 9 bytes from offset 3 | literal "X"
    const input = Buffer.concat([hex('0d 08'), Buffer.from('abc'), hex('15 03 00'), Buffer.from('X')]);
    expect(snappyUncompress(input).toString()).toBe('abcabcabcabcX');
  });

  it('expands a long literal and copies with 2- and 4-byte offsets', () => {
    const literal = Buffer.from(Array.from({ length: 300 }, (_, i) => i % 251));
    const input = Buffer.concat([
      hex('ca 03'), // 458 bytes in all
      hex('f4 2b 01'), // literal of 300 bytes, length - 1 in 2 extra bytes
      literal,
      hex('fe 2c 01'), // copy 64 bytes from offset 300
      hex('fe 2c 01'), // the same copy again, now reading bytes 64-127
      hex('77 0a 00 00 00'), // copy 30 bytes from offset 10, 4-byte offset
    ]);
    const out = snappyUncompress(input);
    expect(out.length).toBe(458);
    expect(out.subarray(0, 300).equals(literal)).toBe(true);
    expect(out.subarray(300, 364).equals(literal.subarray(0, 64))).toBe(true);
    expect(out.subarray(364, 428).equals(literal.subarray(64, 128))).toBe(true);
    expect(out.subarray(428, 458).equals(out.subarray(418, 448))).toBe(true);
  });

  it.each([
    ['a copy before any output', hex('04 05 00'), 'snappy: copy out of bounds'],
    ['a zero offset', hex('05 00 41 01 00'), 'snappy: copy out of bounds'],
    ['input ending inside a literal', hex('05 10 41 42'), 'snappy: literal out of bounds'],
    ['input ending inside a copy', hex('05 00 41 01'), 'snappy: input ends inside an element'],
    ['fewer bytes than announced', hex('05 00 41'), 'snappy: produced 1 bytes, expected 5'],
    ['more bytes than announced', hex('01 04 41 42'), 'snappy: literal out of bounds'],
    ['an endless length preamble', hex('ff ff ff ff ff ff'), 'snappy: invalid length preamble'],
    ['an impossible length', hex('ff ff ff ff 0f 00 41'), 'snappy: declared length 4294967295 is impossible'],
  ])('rejects %s', (_, input, message) => {
    expect(() => snappyUncompress(input)).toThrow(message);
  });
});
