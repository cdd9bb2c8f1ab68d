import { readFile } from 'node:fs/promises';
import type { Type } from 'avsc';
import { ShadowdiffError } from '../errors.js';
import { avroRecordToJsonText } from './avro-json.js';
import { parseAvroType } from './avro-type.js';
import { DecodeError } from './decode-error.js';

/** Decodes raw Avro bodies written with one known schema (`format: avro-schema`). */
export interface AvroDecoder {
  readonly type: Type;
  /** JSON text of the record in `buf`; throws DecodeError when `buf` is not exactly one record. */
  decode(buf: Buffer): string;
}

/**
 * Decodes one Avro body that must fill `buf` exactly: a short body is `truncated`, and bytes
 * left over mean the writer used another schema, so the decoded values cannot be trusted.
 */
export function decodeAvroBody(type: Type, buf: Buffer): string {
  let decoded: { value: unknown; offset: number };
  try {
    decoded = type.decode(buf, 0);
  } catch (error) {
    throw new DecodeError('malformed', `invalid Avro body: ${(error as Error).message}`, { cause: error });
  }
  if (decoded.offset < 0) throw new DecodeError('truncated', `Avro body of ${buf.length} bytes is truncated`);
  if (decoded.offset !== buf.length) {
    throw new DecodeError(
      'malformed',
      `Avro body has ${buf.length - decoded.offset} trailing bytes after the record (${buf.length} bytes in all)`,
    );
  }
  return avroRecordToJsonText(type, decoded.value);
}

/** Loads a local `.avsc`; the top-level type must be a record, since records are JSON objects. */
export async function loadAvroSchema(path: string): Promise<AvroDecoder> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ShadowdiffError('SD_CODEC_SCHEMA', `cannot read Avro schema ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  let type: Type;
  try {
    type = parseAvroType(JSON.parse(text));
  } catch (error) {
    throw new ShadowdiffError('SD_CODEC_SCHEMA', `invalid Avro schema ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (type.typeName !== 'record') {
    throw new ShadowdiffError(
      'SD_CODEC_SCHEMA',
      `Avro schema ${path} must describe a record, not ${type.typeName}: records are compared field by field`,
    );
  }
  return { type, decode: (buf) => decodeAvroBody(type, buf) };
}
