import { isUtf8 } from 'node:buffer';
import { DecodeError } from './decode-error.js';

const BOM = 0xfeff;

/**
 * Checks one Kafka message value: at most `maxBytes`, valid UTF-8, a JSON object. Returns the
 * text unchanged (but for a leading BOM), so numbers beyond 2^53 and key order reach DuckDB
 * as written. Throws DecodeError `oversized`, `malformed` or `not_object`.
 */
export function decodeJsonMessage(buf: Buffer, maxBytes: number): string {
  return parseJsonMessage(buf, maxBytes).text;
}

/** decodeJsonMessage, also handing over the parsed object so that nobody parses the message again. */
export function parseJsonMessage(buf: Buffer, maxBytes: number): { text: string; value: Record<string, unknown> } {
  if (buf.length > maxBytes) {
    throw new DecodeError('oversized', `message of ${buf.length} bytes exceeds maxMessageBytes ${maxBytes}`);
  }
  if (!isUtf8(buf)) throw new DecodeError('malformed', 'message is not valid UTF-8');
  let text = buf.toString('utf8');
  if (text.charCodeAt(0) === BOM) text = text.slice(1);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new DecodeError('malformed', `message is not JSON: ${(error as Error).message}`, { cause: error });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
    throw new DecodeError('not_object', `message is ${kind}, not a JSON object`);
  }
  return { text, value: value as Record<string, unknown> };
}
