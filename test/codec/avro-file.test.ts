import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32, deflateRawSync } from 'node:zlib';
import avsc, { type Type } from 'avsc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AvroFileRecord, openAvroFile } from '../../src/codec/avro-file.js';
import { parseAvroType } from '../../src/codec/avro-type.js';
import { ShadowdiffError } from '../../src/errors.js';

const SCHEMA = {
  type: 'record',
  name: 'Order',
  namespace: 'com.acme',
  fields: [
    { name: 'order_id', type: 'long' },
    { name: 'customer', type: ['null', 'string'] },
    { name: 'amount', type: 'double' },
  ],
};
const type = parseAvroType(SCHEMA);
const order = (i: number) => ({ order_id: i, customer: i % 3 === 0 ? null : `c-${i}`, amount: i / 4 });
const orderJson = (i: number) => JSON.stringify(order(i));

const SYNC = Buffer.from('0123456789abcdef');
const HEADER = avsc.Type.forSchema({
  type: 'record',
  name: 'Header',
  fields: [
    { name: 'magic', type: { type: 'fixed', name: 'Magic', size: 4 } },
    { name: 'meta', type: { type: 'map', values: 'bytes' } },
    { name: 'sync', type: { type: 'fixed', name: 'Sync', size: 16 } },
  ],
});
const LONG = avsc.Type.forSchema('long');

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shadowdiff-avro-file-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Snappy with literals only: valid input for any snappy decoder, enough to test the codec. */
function snappyLiterals(data: Buffer): Buffer {
  const preamble: number[] = [];
  for (let n = data.length; ; n = Math.floor(n / 128)) {
    preamble.push(n < 128 ? n : (n % 128) | 0x80);
    if (n < 128) break;
  }
  const parts: Buffer[] = [Buffer.from(preamble)];
  for (let pos = 0; pos < data.length; pos += 256) {
    const chunk = data.subarray(pos, pos + 256);
    parts.push(Buffer.from([60 << 2, chunk.length - 1]), chunk);
  }
  const checksum = Buffer.alloc(4);
  checksum.writeUInt32BE(crc32(data));
  return Buffer.concat([...parts, checksum]);
}

// What avsc.createFileEncoder does, with a write stream the test can await.
async function writeWithAvsc(name: string, records: unknown[], options: Record<string, unknown>): Promise<string> {
  const path = join(dir, name);
  const encoder = new avsc.streams.BlockEncoder(type, options);
  await pipeline(Readable.from(records).pipe(encoder), createWriteStream(path));
  return path;
}

interface Block {
  count: number;
  data: Buffer;
  sync?: Buffer;
}

/** A container file built byte by byte, so tests control every block. */
async function writeContainer(name: string, blocks: Block[], meta: Record<string, string> = {}, schema = SCHEMA) {
  const header = HEADER.toBuffer({
    magic: Buffer.from('Obj\x01', 'latin1'),
    meta: Object.fromEntries(
      Object.entries({ 'avro.schema': JSON.stringify(schema), ...meta }).map(([k, v]) => [k, Buffer.from(v)]),
    ),
    sync: SYNC,
  });
  const body = blocks.map((block) =>
    Buffer.concat([LONG.toBuffer(block.count), LONG.toBuffer(block.data.length), block.data, block.sync ?? SYNC]),
  );
  const path = join(dir, name);
  await writeFile(path, Buffer.concat([header, ...body]));
  return path;
}

const records = (from: number, to: number, t: Type = type) => {
  const parts: Buffer[] = [];
  for (let i = from; i <= to; i++) parts.push(t.toBuffer(order(i)));
  return Buffer.concat(parts);
};

async function collect(path: string): Promise<AvroFileRecord[]> {
  const out: AvroFileRecord[] = [];
  for await (const record of (await openAvroFile(path)).records()) out.push(record);
  return out;
}

async function failure(run: () => Promise<unknown>): Promise<ShadowdiffError> {
  const error = await run().then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ShadowdiffError);
  return error as ShadowdiffError;
}

describe('openAvroFile', () => {
  it.each(['null', 'deflate', 'snappy'])('reads back every record avsc wrote with codec %s', async (codec) => {
    const path = await writeWithAvsc(
      `orders-${codec}.avro`,
      Array.from({ length: 2500 }, (_, i) => order(i + 1)),
      {
        codec,
        blockSize: 4096,
        codecs: { ...avsc.streams.BlockEncoder.defaultCodecs(), snappy: wrapCodec(snappyLiterals) },
      },
    );
    const file = await openAvroFile(path);
    expect(file.codec).toBe(codec);
    expect(file.type.typeName).toBe('record');
    expect((file.type as avsc.types.RecordType).fields.map((field) => field.name)).toEqual([
      'order_id',
      'customer',
      'amount',
    ]);
    const read = await collect(path);
    expect(read.length).toBe(2500);
    expect(read.every((record, i) => record.position === i + 1 && record.json === orderJson(i + 1))).toBe(true);
    expect(read.filter((record) => record.error !== undefined)).toEqual([]);
    // records() starts over each time.
    let again = 0;
    for await (const _ of file.records()) again++;
    expect(again).toBe(2500);
  });

  it('reads blocks that straddle its 1 MiB reads', async () => {
    const count = 150_000;
    const path = await writeWithAvsc(
      'orders-large.avro',
      Array.from({ length: count }, (_, i) => order(i + 1)),
      { blockSize: 50_000 },
    );
    const { size } = await stat(path);
    expect(size).toBeGreaterThan(2 * 1024 * 1024);
    let n = 0;
    let wrong = 0;
    for await (const record of (await openAvroFile(path)).records()) {
      n++;
      if (record.position !== n || record.json !== orderJson(n)) wrong++;
    }
    expect(n).toBe(count);
    expect(wrong).toBe(0);
  });

  it('keeps longs beyond 2^53 exact', async () => {
    const path = join(dir, 'big.avro');
    const big = { order_id: 2n ** 62n + 1n, customer: 'x', amount: 1 };
    await pipeline(Readable.from([big]).pipe(new avsc.streams.BlockEncoder(type)), createWriteStream(path));
    expect(await collect(path)).toEqual([
      { position: 1, json: '{"order_id":4611686018427387905,"customer":"x","amount":1}' },
    ]);
  });

  it('reports the rest of a block as invalid after a corrupt record, then reads on', async () => {
    const corrupt = Buffer.concat([LONG.toBuffer(3), Buffer.from([0x0a]), records(4, 4)]); // union index 5
    const path = await writeContainer('corrupt-record.avro', [
      { count: 2, data: records(1, 2) },
      { count: 2, data: corrupt },
      { count: 2, data: records(5, 6) },
    ]);
    const read = await collect(path);
    expect(read.map((record) => [record.position, record.json === null ? record.reason : 'ok'])).toEqual([
      [1, 'ok'],
      [2, 'ok'],
      [3, 'malformed'],
      [4, 'malformed'],
      [5, 'ok'],
      [6, 'ok'],
    ]);
    expect(read[2]!.error).toMatch(/^record 3 in block 2 \(byte \d+\) cannot be decoded: /);
    expect(read[3]!.error).toMatch(/^record 4 is unreadable: record 3 before it in block 2 \(byte \d+\) is corrupt$/);
    expect(read[4]!.json).toBe(orderJson(5));
  });

  it('reports every record of a block that does not decompress, then reads on', async () => {
    const good = deflateRawSync(records(1, 3));
    const bad = Buffer.from(deflateRawSync(records(4, 6)));
    bad.fill(0xff, 0, 4);
    const path = await writeContainer(
      'corrupt-deflate.avro',
      [
        { count: 3, data: good },
        { count: 3, data: bad },
        { count: 1, data: deflateRawSync(records(7, 7)) },
      ],
      { 'avro.codec': 'deflate' },
    );
    const read = await collect(path);
    expect(read.map((record) => record.position)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(read.filter((record) => record.json === null).map((record) => record.position)).toEqual([4, 5, 6]);
    expect(read[3]!.reason).toBe('malformed');
    expect(read[3]!.error).toMatch(/^block 2 \(byte \d+\) cannot be decompressed \(deflate\): /);
    expect(read[6]!.json).toBe(orderJson(7));
  });

  it('reports a block that ends inside a record as truncated', async () => {
    const data = records(1, 2);
    const path = await writeContainer('short-block.avro', [{ count: 3, data }]);
    const read = await collect(path);
    expect(read.map((record) => [record.position, record.reason ?? 'ok'])).toEqual([
      [1, 'ok'],
      [2, 'ok'],
      [3, 'truncated'],
    ]);
    expect(read[2]!.error).toMatch(/^block 1 \(byte \d+\) ends inside record 3$/);
  });

  it('reports a snappy block with a wrong checksum', async () => {
    const data = snappyLiterals(records(1, 2));
    data.writeUInt32BE((data.readUInt32BE(data.length - 4) + 1) >>> 0, data.length - 4);
    const path = await writeContainer('bad-crc.avro', [{ count: 2, data }], { 'avro.codec': 'snappy' });
    const read = await collect(path);
    expect(read.map((record) => record.error)).toEqual([
      expect.stringMatching(/cannot be decompressed \(snappy\): snappy block checksum mismatch$/),
      expect.stringMatching(/cannot be decompressed \(snappy\): snappy block checksum mismatch$/),
    ]);
  });

  it('counts records that are not JSON objects as not_object', async () => {
    const strings = avsc.Type.forSchema('string');
    const path = await writeContainer(
      'strings.avro',
      [{ count: 2, data: Buffer.concat([strings.toBuffer('a'), strings.toBuffer('b')]) }],
      {},
      'string' as unknown as typeof SCHEMA,
    );
    const read = await collect(path);
    expect(read).toEqual([
      { position: 1, json: null, reason: 'not_object', error: 'record 1: Avro value of type string is not a record' },
      { position: 2, json: null, reason: 'not_object', error: 'record 2: Avro value of type string is not a record' },
    ]);
  });

  it('fails with SD_INPUT_UNREADABLE on a truncated file, after the complete blocks', async () => {
    const full = await writeContainer('full.avro', [
      { count: 2, data: records(1, 2) },
      { count: 2, data: records(3, 4) },
    ]);
    const bytes = await readFile(full);
    const path = join(dir, 'truncated.avro');
    await writeFile(path, bytes.subarray(0, bytes.length - 5));
    const seen: number[] = [];
    const error = await failure(async () => {
      for await (const record of (await openAvroFile(path)).records()) seen.push(record.position);
    });
    expect(seen).toEqual([1, 2]);
    expect(error.code).toBe('SD_INPUT_UNREADABLE');
    expect(error.message).toMatch(
      new RegExp(
        `^Avro file ${path}: block 2 \\(byte \\d+\\) needs \\d+ bytes but the file ends at byte ${bytes.length - 5}: truncated or corrupt$`,
      ),
    );
  });

  it('fails with SD_INPUT_UNREADABLE, after the blocks before it, on a block count its data cannot hold', async () => {
    // Before, each of the 2^40 promised records was reported lost, one by one.
    const path = await writeContainer('bad-count.avro', [
      { count: 2, data: records(1, 2) },
      { count: 2 ** 40, data: records(3, 4) },
    ]);
    const seen: number[] = [];
    const error = await failure(async () => {
      for await (const record of (await openAvroFile(path)).records()) seen.push(record.position);
    });
    expect(seen).toEqual([1, 2]);
    expect(error.code).toBe('SD_INPUT_UNREADABLE');
    expect(error.message).toMatch(
      new RegExp(
        `^Avro file ${path}: block 2 \\(byte \\d+\\) declares ${2 ** 40} records in ${records(3, 4).length} bytes: the file is corrupt$`,
      ),
    );
  });

  it('fails with SD_INPUT_UNREADABLE when a sync marker is wrong', async () => {
    const path = await writeContainer('bad-sync.avro', [
      { count: 2, data: records(1, 2) },
      { count: 2, data: records(3, 4), sync: Buffer.from('fedcba9876543210') },
    ]);
    const error = await failure(() => collect(path));
    expect(error.message).toMatch(
      /^Avro file .*bad-sync\.avro: block 2 \(byte \d+\) is not followed by the sync marker: the file is corrupt$/,
    );
  });

  it.each([
    ['empty.avro', Buffer.alloc(0), 'not an Avro object container file (no "Obj\\x01" magic bytes)'],
    ['text.avro', Buffer.from('{"order_id": 1}\n'), 'not an Avro object container file (no "Obj\\x01" magic bytes)'],
    ['header-cut.avro', Buffer.from('Obj\x01\x04\x16avro.schema', 'latin1'), 'file ends inside the header'],
  ])('rejects %s at open with SD_INPUT_UNREADABLE', async (name, content, message) => {
    const path = join(dir, name);
    await writeFile(path, content);
    const error = await failure(() => openAvroFile(path));
    expect(error.code).toBe('SD_INPUT_UNREADABLE');
    expect(error.message).toBe(`Avro file ${path}: ${message}`);
  });

  it('rejects an unsupported codec, a bad schema and a missing file at open', async () => {
    const zstd = await writeContainer('zstd.avro', [], { 'avro.codec': 'zstandard' });
    expect((await failure(() => openAvroFile(zstd))).message).toBe(
      `Avro file ${zstd}: unsupported codec "zstandard" (supported: null, deflate, snappy)`,
    );
    const badSchema = await writeContainer('bad-schema.avro', [], {}, { type: 'record' } as unknown as typeof SCHEMA);
    expect((await failure(() => openAvroFile(badSchema))).message).toMatch(
      /^Avro file .*bad-schema\.avro: invalid schema in header: /,
    );
    const missing = join(dir, 'missing.avro');
    const error = await failure(() => openAvroFile(missing));
    expect(error.code).toBe('SD_INPUT_UNREADABLE');
    expect(error.message).toMatch(new RegExp(`^Avro file ${missing}: cannot open: ENOENT`));
  });

  it('reads an empty container file as no records', async () => {
    const path = await writeContainer('no-blocks.avro', []);
    expect(await collect(path)).toEqual([]);
  });
});

function wrapCodec(compress: (data: Buffer) => Buffer) {
  return (data: Buffer, callback: (error: Error | null, out?: Buffer) => void) => callback(null, compress(data));
}
