import type { Type } from 'avsc';
import { decodeAvroBody } from './avro-schema.js';
import { DecodeError } from './decode-error.js';
import type { SchemaSource } from './registry.js';

const MAGIC = 0;
const HEADER_SIZE = 5;

/**
 * Decodes a Confluent wire-format message (magic byte 0, 4-byte big-endian schema id, Avro
 * body) to JSON text. Per-message failures throw DecodeError (`truncated`, `bad_magic`,
 * `unknown_schema`, `malformed`, `not_object`); a registry outage throws the registry's
 * ShadowdiffError, which is not the message's fault.
 */
export async function decodeConfluent(buf: Buffer, registry: SchemaSource): Promise<string> {
  if (buf.length < HEADER_SIZE) {
    throw new DecodeError('truncated', `Confluent message of ${buf.length} bytes is shorter than its 5-byte header`);
  }
  if (buf[0] !== MAGIC) {
    throw new DecodeError('bad_magic', `Confluent message starts with byte ${buf[0]}, expected magic byte 0`);
  }
  const type = await registry.getSchema(buf.readUInt32BE(1));
  return decodeAvroBody(type, buf.subarray(HEADER_SIZE));
}

/** The Confluent wire form of `value`; for tests, the simulator and benchmarks. */
export function encodeConfluent(schemaId: number, type: Type, value: unknown): Buffer {
  const header = Buffer.alloc(HEADER_SIZE);
  header.writeUInt8(MAGIC, 0);
  header.writeUInt32BE(schemaId, 1);
  return Buffer.concat([header, type.toBuffer(value)]);
}
