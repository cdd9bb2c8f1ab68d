import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RECORD_SEPARATOR } from '../../src/align/ingest.js';
import type { KeySampling } from '../../src/align/key-sample.js';
import { samplingThreshold } from '../../src/align/keys.js';
import { joinPacks, packPartition, RecordPreparer } from '../../src/align/prepare.js';
import { DecodeError } from '../../src/codec/decode-error.js';
import { checkJsonMessage } from '../../src/codec/json.js';
import type { RawRecord } from '../../src/sources/source.js';

const control = { heartbeat: async () => {} };
const options = { recordKeys: false, recordTimestamps: false, deadLetterLimit: 2 };

function record(partition: string, offset: number, value: string | Buffer | null, extra: Partial<RawRecord> = {}) {
  return { partition, offset, key: null, value, timestamp: 1_000 + offset, ...extra } satisfies RawRecord;
}

const texts = (docs: Uint8Array) => Buffer.from(docs).toString('utf8').split(RECORD_SEPARATOR);

/** SPEC §3 written out apart from the sampler: sampled when the MD5's first 8 bytes (little-endian) are below the threshold. */
const sampledKey = (key: string, rate: number) =>
  createHash('md5').update(key).digest().readBigUInt64LE(0) < (samplingThreshold(rate) as bigint);
const sampling = (key: string[], format: KeySampling['format'] = 'json'): KeySampling => ({
  key,
  keyAsText: false,
  format,
  rate: 0.3,
});
const keys = Array.from({ length: 60 }, (_, i) => `order-${i}`);
const unsampled = keys.filter((key) => !sampledKey(key, 0.3));

describe('record preparer', () => {
  it('packs the texts, positions, keys and timestamps of each partition in arrival order', async () => {
    const preparer = new RecordPreparer(
      { ...options, recordKeys: true, recordTimestamps: true },
      { skipThrough: new Map(), countedThrough: new Map() },
    );
    const batch = await preparer.prepare(
      [
        record('t/0', 5, '{"a":1}', { key: Buffer.from('k5') }),
        record('t/1', 0, '{"é":"ü"}', { key: null }),
        record('t/0', 6, '{"a":2}', { key: Buffer.from(`bad${RECORD_SEPARATOR}key`) }),
      ],
      control,
      true,
    );
    expect(batch.records).toBe(3);
    expect(batch.positions).toEqual([
      ['t/0', 6],
      ['t/1', 0],
    ]);
    const [first, second] = batch.partitions;
    expect(first).toMatchObject({ source: 't/0', count: 2, positions: '5,6', timestamps: '1005,1006' });
    expect(texts(first!.docs)).toEqual(['{"a":1}', '{"a":2}']);
    // A key holding the separator cannot travel with its batch: it counts as no key.
    expect(first!.keys?.split(RECORD_SEPARATOR)).toEqual(['k5', '']);
    expect(second).toMatchObject({ source: 't/1', count: 1, positions: '0', keys: '' });
    expect(texts(second!.docs)).toEqual(['{"é":"ü"}']);
  });

  it('counts records of partitions outside the scope once, undecoded, and still takes their positions', async () => {
    const preparer = new RecordPreparer(
      { ...options, partitions: [1] },
      { skipThrough: new Map(), countedThrough: new Map([['t/0', 1]]) },
    );
    const batch = await preparer.prepare(
      [
        record('t/0', 1, '{"a":1}'),
        record('t/0', 2, 'not json'),
        record('t/1', 0, '{"a":2}'),
        record('t/12', 0, '{"a":3}'),
      ],
      control,
      true,
    );
    // t/0@1 is a replay (counted before the restart): not counted again.
    expect(batch.outOfScope).toBe(2);
    expect(batch.invalid).toEqual([]);
    expect(batch.records).toBe(4);
    expect(batch.partitions.map((p) => [p.source, p.positions])).toEqual([['t/1', '0']]);
    expect(batch.positions).toEqual([
      ['t/0', 2],
      ['t/1', 0],
      ['t/12', 0],
    ]);
  });

  it('counts JSON texts over maxRecordBytes oversized, as Kafka messages are, with a dead letter', async () => {
    const preparer = new RecordPreparer(
      { ...options, maxRecordBytes: 10 },
      { skipThrough: new Map(), countedThrough: new Map() },
    );
    const batch = await preparer.prepare(
      [record('f', 1, '{"a":"é"}'), record('f', 2, '{"a":"éé"}'), record('f', 3, '{"a":12345}')],
      control,
      true,
    );
    expect(texts(batch.partitions[0]!.docs)).toEqual(['{"a":"é"}']);
    expect(batch.invalid).toEqual([['oversized', 2]]);
    expect(batch.deadLetters.map((letter) => [letter.position, letter.reason])).toEqual([
      [2, 'oversized'],
      [3, 'oversized'],
    ]);
  });

  it('takes every record once: at or below the durable position, or delivered again, it is skipped', async () => {
    const preparer = new RecordPreparer(options, {
      skipThrough: new Map([['t/0', 9]]),
      countedThrough: new Map([['t/0', 9]]),
    });
    const first = await preparer.prepare(
      [8, 9, 10, 11].map((offset) => record('t/0', offset, `{"i":${offset}}`)),
      control,
      true,
    );
    expect(first.records).toBe(2);
    expect(first.partitions[0]?.positions).toBe('10,11');
    const again = await preparer.prepare(
      [10, 11, 12].map((offset) => record('t/0', offset, `{"i":${offset}}`)),
      control,
      true,
    );
    expect(again.records).toBe(1);
    expect(again.partitions[0]?.positions).toBe('12');
    expect(again.positions).toEqual([['t/0', 12]]);
    const nothing = await preparer.prepare([record('t/0', 12, '{}')], control, true);
    expect(nothing).toMatchObject({ records: 0, partitions: [], positions: [] });
  });

  it('counts undecodable records invalid by reason, keeps the first as dead letters, and moves the position past them', async () => {
    const decoder = (value: Buffer) => {
      if (value[0] === 0) return Promise.reject(new DecodeError('unknown_schema', 'no such schema id'));
      return checkJsonMessage(value, 64);
    };
    const preparer = new RecordPreparer({ ...options, decoder }, { skipThrough: new Map(), countedThrough: new Map() });
    const batch = await preparer.prepare(
      [
        record('t/0', 0, Buffer.from('{"ok":1}')),
        record('t/0', 1, Buffer.from([0xff, 0xfe])),
        record('t/0', 2, null),
        record('t/0', 3, Buffer.from([0, 1, 2])),
        record('t/0', 4, Buffer.from(`{"pad":"${'x'.repeat(80)}"}`)),
        record('t/0', 5, null, { error: 'truncated' }),
      ],
      control,
      false,
    );
    expect(batch.records).toBe(6);
    expect(batch.partitions).toHaveLength(1);
    expect(batch.partitions[0]?.positions).toBe('0');
    expect(Object.fromEntries(batch.invalid)).toEqual({
      malformed: 1,
      empty: 1,
      unknown_schema: 1,
      oversized: 1,
      truncated: 1,
    });
    // Bytes that are not text are kept as base64.
    expect(batch.deadLetters).toEqual([
      { source: 't/0', position: 1, reason: 'malformed', raw: 'base64://4=' },
      { source: 't/0', position: 2, reason: 'empty', raw: null },
    ]);
    expect(batch.positions).toEqual([['t/0', 5]]);
  });

  it('counts a text holding the record separator malformed, and needs a decoder for message bytes', async () => {
    const preparer = new RecordPreparer(options, { skipThrough: new Map(), countedThrough: new Map() });
    const batch = await preparer.prepare([record('f', 1, `{"a":"${RECORD_SEPARATOR}"}`)], control, true);
    expect(Object.fromEntries(batch.invalid)).toEqual({ malformed: 1 });
    await expect(preparer.prepare([record('f', 2, Buffer.from('{}'))], control, false)).rejects.toThrow(
      /needs a decoder/,
    );
  });

  it('drops records of unsampled keys from JSON texts before packing, counting them and moving positions past them', async () => {
    const preparer = new RecordPreparer(
      { ...options, maxRecordBytes: 100, sampling: sampling(['id']) },
      { skipThrough: new Map(), countedThrough: new Map() },
    );
    const batch = await preparer.prepare(
      [
        ...keys.map((key, i) => record('f', i, `{"id":"${key}","v":[1,{"id":0}]}`)),
        // Unsure (no key, malformed, oversized): left to DuckDB or counted invalid, never sampled out.
        record('f', 60, '{"v":1}'),
        record('f', 61, `{"id":"${unsampled[0]}",`),
        record('f', 62, `{"id":"${unsampled[0]}","pad":"${'x'.repeat(100)}"}`),
      ],
      control,
      true,
    );
    expect(unsampled.length).toBeGreaterThan(20);
    expect(batch.sampledOut).toBe(unsampled.length);
    expect(batch.records).toBe(63);
    expect(batch.positions).toEqual([['f', 62]]);
    expect(Object.fromEntries(batch.invalid)).toEqual({ oversized: 1 });
    const packed = texts(batch.partitions[0]!.docs);
    expect(packed.slice(0, -2).map((doc) => JSON.parse(doc).id)).toEqual(keys.filter((key) => sampledKey(key, 0.3)));
    expect(packed.slice(-2)).toEqual(['{"v":1}', `{"id":"${unsampled[0]}",`]);
  });

  it('samples Kafka JSON messages before decoding them, and by the Kafka key without reading the value', async () => {
    const decoded: Buffer[] = [];
    const decoder = (value: Buffer) => {
      decoded.push(value);
      return checkJsonMessage(value, 1000);
    };
    const byValue = new RecordPreparer(
      { ...options, decoder, sampling: sampling(['id']) },
      { skipThrough: new Map(), countedThrough: new Map() },
    );
    const values = await byValue.prepare(
      keys.map((key, i) => record('t/0', i, Buffer.from(`{"id":"${key}"}`))),
      control,
      false,
    );
    expect(values).toMatchObject({ sampledOut: unsampled.length, records: keys.length });
    expect(decoded).toHaveLength(keys.length - unsampled.length);

    decoded.length = 0;
    const byKey = new RecordPreparer(
      { ...options, recordKeys: true, decoder, sampling: sampling(['$kafkaKey'], 'avro') },
      { skipThrough: new Map(), countedThrough: new Map() },
    );
    const batch = await byKey.prepare(
      keys.map((key, i) => record('t/0', i, Buffer.from([0, 1, 2]), { key: Buffer.from(key) })),
      control,
      false,
    );
    expect(batch).toMatchObject({ sampledOut: unsampled.length, records: keys.length });
    expect(decoded).toHaveLength(keys.length - unsampled.length);
    expect(batch.positions).toEqual([['t/0', keys.length - 1]]);
  });

  it('samples Avro records after decoding them, before packing', async () => {
    const decoder = async (value: Buffer) => JSON.stringify({ id: value.toString() });
    const preparer = new RecordPreparer(
      { ...options, decoder, sampling: sampling(['id'], 'avro') },
      { skipThrough: new Map(), countedThrough: new Map() },
    );
    const batch = await preparer.prepare(
      keys.map((key, i) => record('t/0', i, Buffer.from(key))),
      control,
      false,
    );
    expect(batch).toMatchObject({ sampledOut: unsampled.length, records: keys.length });
    expect(batch.partitions[0]?.count).toBe(keys.length - unsampled.length);
  });

  it('samples nothing out without a sampling rate below 1', async () => {
    const preparer = new RecordPreparer(options, { skipThrough: new Map(), countedThrough: new Map() });
    const batch = await preparer.prepare(
      keys.map((key, i) => record('f', i, `{"id":"${key}"}`)),
      control,
      true,
    );
    expect(batch).toMatchObject({ sampledOut: 0, records: keys.length });
  });

  it('packs into a buffer of its own, which can be transferred to another thread', () => {
    const pack = packPartition('t/0', [1], ['{}']);
    expect(pack.docs.byteOffset).toBe(0);
    expect(pack.docs.buffer.byteLength).toBe(pack.docs.byteLength);
    const { port1, port2 } = new MessageChannel();
    port1.postMessage(pack.docs, [pack.docs.buffer as ArrayBuffer]);
    expect(pack.docs.byteLength).toBe(0);
    port1.close();
    port2.close();
  });
});

describe('joining the packs of a batch', () => {
  const keyed = (source: string, from: number, n: number, replay = false) => {
    const positions = Array.from({ length: n }, (_, i) => from + i);
    const pack = packPartition(
      source,
      positions,
      positions.map((p) => `{"id":${p}}`),
      positions.map((p) => `["${p}"]`),
      positions.map((p) => 1_000 + p),
      undefined,
      replay,
      [{ w: 0, first: from, n, maxEventTime: 1_000 + from + n - 1 }],
    );
    return Object.assign(pack, { release: () => released.push(`${source}@${from}`) });
  };
  let released: string[] = [];

  it('joins packs of one partition, kind and replay, in delivery order, and releases the originals', () => {
    released = [];
    const unkeyed = packPartition('p0', [5], ['{"id":5}']);
    const empty = keyed('p0', 9, 0);
    const joined = joinPacks([
      keyed('p0', 0, 2),
      keyed('p1', 0, 1),
      unkeyed,
      keyed('p0', 2, 3),
      empty,
      keyed('p0', 6, 1, true),
    ]);
    expect(joined.map((pack) => [pack.source, pack.count, pack.replay === true, pack.runs !== undefined])).toEqual([
      ['p0', 5, false, true],
      ['p1', 1, false, true],
      ['p0', 1, false, false],
      ['p0', 1, true, true],
    ]);
    const [p0] = joined;
    expect(texts(p0!.docs)).toEqual([0, 1, 2, 3, 4].map((p) => `{"id":${p}}`));
    expect(p0!.positions).toBe('0,1,2,3,4');
    expect(p0!.keys!.split(RECORD_SEPARATOR)).toEqual([0, 1, 2, 3, 4].map((p) => `["${p}"]`));
    expect(p0!.timestamps).toBe('1000,1001,1002,1003,1004');
    expect(p0!.runs).toEqual([
      { w: 0, first: 0, n: 2, maxEventTime: 1_001 },
      { w: 0, first: 2, n: 3, maxEventTime: 1_004 },
    ]);
    expect(p0!.release).toBeUndefined();
    // Packs alone in their group are passed on as they are, to be released once DuckDB copied them.
    expect(released.sort()).toEqual(['p0@0', 'p0@2', 'p0@9']);
  });
});
