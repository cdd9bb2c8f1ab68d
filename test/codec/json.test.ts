import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../src/codec/decode-error.js';
import { checkJsonMessage } from '../../src/codec/json.js';

function failure(buf: Buffer, maxBytes = 1024): DecodeError {
  try {
    checkJsonMessage(buf, maxBytes);
  } catch (error) {
    if (error instanceof DecodeError) return error;
    throw error;
  }
  throw new Error('expected a DecodeError');
}

describe('checkJsonMessage', () => {
  it('returns the bytes of a message unchanged', () => {
    const buf = Buffer.from('{"order_id": 9007199254740993, "name": "Zoë", "b": 1, "a": 2}');
    expect(checkJsonMessage(buf, 1024)).toBe(buf);
  });

  it('accepts a message of exactly maxBytes and rejects a larger one', () => {
    const text = '{"a":"xxxx"}';
    expect(checkJsonMessage(Buffer.from(text), text.length).toString()).toBe(text);
    const error = failure(Buffer.from(text), text.length - 1);
    expect(error.reason).toBe('oversized');
    expect(error.message).toBe('message of 12 bytes exceeds maxMessageBytes 11');
  });

  it.each([
    [
      'invalid UTF-8',
      Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]),
      'message is not valid UTF-8',
    ],
    ['an overlong UTF-8 encoding', Buffer.from([0x7b, 0x7d, 0xc0, 0xaf]), 'message is not valid UTF-8'],
    ['a raw record separator', Buffer.from('{"a":"\u001e"}'), 'message holds a raw U+001E control character'],
  ])('rejects %s as malformed', (_, buf, message) => {
    const error = failure(buf);
    expect(error.reason).toBe('malformed');
    expect(error.message).toBe(message);
  });
});
