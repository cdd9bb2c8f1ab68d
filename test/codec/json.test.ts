import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../src/codec/decode-error.js';
import { decodeJsonMessage } from '../../src/codec/json.js';

function failure(buf: Buffer, maxBytes = 1024): DecodeError {
  try {
    decodeJsonMessage(buf, maxBytes);
  } catch (error) {
    if (error instanceof DecodeError) return error;
    throw error;
  }
  throw new Error('expected a DecodeError');
}

describe('decodeJsonMessage', () => {
  it('returns the text of a JSON object unchanged', () => {
    const text = '{"order_id": 9007199254740993, "name": "Zoë", "b": 1, "a": 2}';
    expect(decodeJsonMessage(Buffer.from(text), 1024)).toBe(text);
  });

  it('drops a leading byte order mark', () => {
    expect(decodeJsonMessage(Buffer.from('\ufeff{"a":1}'), 1024)).toBe('{"a":1}');
  });

  it('accepts a message of exactly maxBytes and rejects a larger one', () => {
    const text = '{"a":"xxxx"}';
    expect(decodeJsonMessage(Buffer.from(text), text.length)).toBe(text);
    const error = failure(Buffer.from(text), text.length - 1);
    expect(error.reason).toBe('oversized');
    expect(error.message).toBe('message of 12 bytes exceeds maxMessageBytes 11');
  });

  it.each([
    [
      'invalid UTF-8',
      Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]),
      'malformed',
      'message is not valid UTF-8',
    ],
    ['an overlong UTF-8 encoding', Buffer.from([0x7b, 0x7d, 0xc0, 0xaf]), 'malformed', 'message is not valid UTF-8'],
    ['an empty message', Buffer.alloc(0), 'malformed', /^message is not JSON: /],
    ['truncated JSON', Buffer.from('{"a": 1'), 'malformed', /^message is not JSON: /],
    ['two objects', Buffer.from('{"a":1}{"b":2}'), 'malformed', /^message is not JSON: /],
    ['an array', Buffer.from('[{"a":1}]'), 'not_object', 'message is an array, not a JSON object'],
    ['null', Buffer.from('null'), 'not_object', 'message is null, not a JSON object'],
    ['a string', Buffer.from('"{}"'), 'not_object', 'message is a string, not a JSON object'],
    ['a number', Buffer.from('42'), 'not_object', 'message is a number, not a JSON object'],
  ])('rejects %s', (_, buf, reason, message) => {
    const error = failure(buf);
    expect(error.reason).toBe(reason);
    if (typeof message === 'string') expect(error.message).toBe(message);
    else expect(error.message).toMatch(message);
  });
});
