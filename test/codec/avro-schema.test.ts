import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAvroSchema } from '../../src/codec/avro-schema.js';
import { DecodeError } from '../../src/codec/decode-error.js';
import { ShadowdiffError } from '../../src/errors.js';

const SCHEMA = {
  type: 'record',
  name: 'Event',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'at', type: { type: 'long', logicalType: 'timestamp-micros' } },
    { name: 'score', type: ['null', 'double'] },
  ],
};

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shadowdiff-avsc-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function schemaFile(name: string, content: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

function decodeFailure(run: () => unknown): DecodeError {
  try {
    run();
  } catch (error) {
    if (error instanceof DecodeError) return error;
    throw error;
  }
  throw new Error('expected a DecodeError');
}

describe('loadAvroSchema', () => {
  it('decodes raw Avro bodies to JSON text', async () => {
    const decoder = await loadAvroSchema(await schemaFile('event.avsc', JSON.stringify(SCHEMA)));
    const body = decoder.type.toBuffer({ id: 'e-1', at: 1_700_000_000_000_001, score: 0.75 });
    expect(decoder.decode(body)).toBe('{"id":"e-1","at":"2023-11-14 22:13:20.000001+00","score":0.75}');
  });

  it('counts a truncated body and trailing bytes as decode errors', async () => {
    const decoder = await loadAvroSchema(await schemaFile('event2.avsc', JSON.stringify(SCHEMA)));
    const body = decoder.type.toBuffer({ id: 'e-1', at: 5, score: null });
    const truncated = decodeFailure(() => decoder.decode(body.subarray(0, body.length - 1)));
    expect(truncated.reason).toBe('truncated');
    expect(truncated.message).toBe(`Avro body of ${body.length - 1} bytes is truncated`);
    const trailing = decodeFailure(() => decoder.decode(Buffer.concat([body, Buffer.from([0, 0])])));
    expect(trailing.reason).toBe('malformed');
    expect(trailing.message).toBe(`Avro body has 2 trailing bytes after the record (${body.length + 2} bytes in all)`);
  });

  it('counts an invalid union index as malformed', async () => {
    const decoder = await loadAvroSchema(await schemaFile('event3.avsc', JSON.stringify(SCHEMA)));
    // id "" (0x00), at 0 (0x00), union index 5 (zig-zag 0x0a).
    const error = decodeFailure(() => decoder.decode(Buffer.from([0x00, 0x00, 0x0a])));
    expect(error.reason).toBe('malformed');
    expect(error.message).toMatch(/^invalid Avro body: /);
  });

  it.each([
    ['missing.avsc', null, /^cannot read Avro schema .*missing\.avsc: ENOENT/],
    ['not-json.avsc', '{"type": "record",', /^invalid Avro schema .*not-json\.avsc: /],
    [
      'bad-type.avsc',
      '{"type": "record", "name": "R", "fields": [{"name": "a", "type": "nope"}]}',
      /undefined type name: nope/,
    ],
    ['not-record.avsc', '"string"', /^Avro schema .*not-record\.avsc must describe a record, not string/],
  ])('rejects %s with SD_CODEC_SCHEMA naming the path', async (name, content, message) => {
    const path = content === null ? join(dir, name) : await schemaFile(name, content);
    const error = await loadAvroSchema(path).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ShadowdiffError);
    expect((error as ShadowdiffError).code).toBe('SD_CODEC_SCHEMA');
    expect((error as ShadowdiffError).message).toMatch(message);
    expect((error as ShadowdiffError).message).toContain(path);
  });
});
