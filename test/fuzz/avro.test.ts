import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { avroRecordToJsonText } from '../../src/codec/avro-json.js';
import { decodeAvroBody } from '../../src/codec/avro-schema.js';
import { isDecodeError } from '../../src/codec/decode-error.js';
import { avroBody, FUZZ_SCHEMA, order } from './avro-arbitraries.js';
import { FUZZ_RUNS, fuzzOptions } from './fuzz.js';

describe('Avro decoding under random bytes', () => {
  it('decodes every valid body to the JSON text of its value', () => {
    fc.assert(
      fc.property(order, (value) => {
        expect(decodeAvroBody(FUZZ_SCHEMA, FUZZ_SCHEMA.toBuffer(value))).toBe(avroRecordToJsonText(FUZZ_SCHEMA, value));
      }),
      fuzzOptions(FUZZ_RUNS / 5),
    );
  });

  it('turns any body into a JSON object text or a DecodeError (counted invalid)', () => {
    fc.assert(
      fc.property(avroBody, (buf) => {
        try {
          const json = JSON.parse(decodeAvroBody(FUZZ_SCHEMA, buf));
          expect(json !== null && typeof json === 'object' && !Array.isArray(json)).toBe(true);
        } catch (error) {
          if (!isDecodeError(error)) throw error;
          expect(['malformed', 'truncated']).toContain(error.reason);
        }
      }),
      fuzzOptions(FUZZ_RUNS - FUZZ_RUNS / 5),
    );
  });
});
