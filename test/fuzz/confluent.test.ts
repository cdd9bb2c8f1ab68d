import type { Type } from 'avsc';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAvroType } from '../../src/codec/avro-type.js';
import { decodeConfluent } from '../../src/codec/confluent.js';
import { DecodeError, isDecodeError } from '../../src/codec/decode-error.js';
import type { SchemaSource } from '../../src/codec/registry.js';
import { avroBody, FUZZ_SCHEMA, order } from './avro-arbitraries.js';
import { fuzzOptions } from './fuzz.js';

const RECORD_ID = 1;
const STRING_ID = 2;
const byId = new Map<number, Type>([
  [RECORD_ID, FUZZ_SCHEMA],
  [STRING_ID, parseAvroType('string')],
]);
/** An in-memory registry (the HTTP client has its own tests): unknown ids are the message's fault. */
const registry: SchemaSource = {
  getSchema: async (id) => {
    const type = byId.get(id);
    if (!type) throw new DecodeError('unknown_schema', `unknown schema id ${id}`);
    return type;
  },
};

function frame(magic: number, id: number, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt8(magic, 0);
  header.writeUInt32BE(id, 1);
  return Buffer.concat([header, body]);
}

const magic = fc.oneof(
  { weight: 4, arbitrary: fc.constant(0) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 255 }) },
);
const schemaId = fc.oneof(fc.constantFrom(RECORD_ID, STRING_ID), fc.integer({ min: 0, max: 0xffffffff }));
const message = fc.oneof(
  fc.tuple(magic, schemaId, avroBody).map(([m, id, body]) => frame(m, id, body)),
  fc
    .tuple(fc.constantFrom(RECORD_ID, STRING_ID), order)
    .map(([id, value]) => frame(0, id, FUZZ_SCHEMA.toBuffer(value))),
  fc.uint8Array({ maxLength: 12 }).map((bytes) => Buffer.from(bytes)),
);

describe('Confluent wire format under random bytes', () => {
  it('decodes a record or says why not: short header, wrong magic byte, unknown schema id, bad body', async () => {
    await fc.assert(
      fc.asyncProperty(message, async (buf) => {
        try {
          const json = JSON.parse(await decodeConfluent(buf, registry));
          expect(buf.length >= 5 && buf[0] === 0).toBe(true);
          expect(buf.readUInt32BE(1)).toBe(RECORD_ID);
          expect(typeof json).toBe('object');
        } catch (error) {
          if (!isDecodeError(error)) throw error;
          const expected =
            buf.length < 5
              ? ['truncated']
              : buf[0] !== 0
                ? ['bad_magic']
                : !byId.has(buf.readUInt32BE(1))
                  ? ['unknown_schema']
                  : ['malformed', 'truncated', 'not_object'];
          expect(expected).toContain(error.reason);
        }
      }),
      fuzzOptions(),
    );
  });
});
