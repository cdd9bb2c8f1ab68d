import { isUtf8 } from 'node:buffer';
import { holdsRecordSeparator } from '../align/ingest.js';
import { DecodeError } from './decode-error.js';

/**
 * Checks one Kafka message value before it goes to DuckDB, which parses it: at most `maxBytes`,
 * valid UTF-8, and no raw U+001E (never valid in JSON; it separates records on the way to
 * DuckDB). Returns the bytes unchanged, so numbers beyond 2^53 and key order reach DuckDB as
 * written and no JS string is made per record. Throws DecodeError `oversized` or `malformed`.
 */
export function checkJsonMessage(buf: Buffer, maxBytes: number): Buffer {
  if (buf.length > maxBytes) {
    throw new DecodeError('oversized', `message of ${buf.length} bytes exceeds maxMessageBytes ${maxBytes}`);
  }
  if (!isUtf8(buf)) throw new DecodeError('malformed', 'message is not valid UTF-8');
  if (holdsRecordSeparator(buf)) throw new DecodeError('malformed', 'message holds a raw U+001E control character');
  return buf;
}
