import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { avroRecordToJsonText } from '../../src/codec/avro-json.js';
import { dateText, decimalText, timestampText, timeText } from '../../src/codec/avro-logical.js';
import { parseAvroType } from '../../src/codec/avro-type.js';

let instance: DuckDBInstance;
let connection: DuckDBConnection;
beforeAll(async () => {
  instance = await DuckDBInstance.create(':memory:');
  connection = await instance.connect();
  await connection.run(`SET TimeZone = 'UTC'`);
});
afterAll(() => {
  connection.closeSync();
  instance.closeSync();
});

/** The JSON string DuckDB's to_json gives for `expression`: what the Parquet path writes. */
async function duckdbText(expression: string): Promise<unknown> {
  const reader = await connection.runAndReadAll(`SELECT json_extract_string(to_json(${expression}), '$')`);
  return reader.getRows()[0]?.[0];
}

// Around the epoch, year 1, year 0 (1 BC), far BC, year 9999/10000, and fractions with trailing zeros.
const MICROS = [
  0n,
  1n,
  -1n,
  120_000n,
  1_704_164_645_123_456n,
  -62_135_596_800_000_000n,
  -62_135_596_800_000_001n,
  -62_200_000_000_000_000n,
  -70_000_000_000_000_000n,
  253_402_300_799_999_999n,
  253_402_300_800_000_000n,
];

describe('Avro logical types as DuckDB writes them', () => {
  it.each(MICROS)('timestamp-micros %s matches TIMESTAMP and TIMESTAMPTZ', async (micros) => {
    const local = await duckdbText(`make_timestamp(${micros}::BIGINT)`);
    const instant = await duckdbText(`make_timestamp(${micros}::BIGINT)::TIMESTAMPTZ`);
    expect(timestampText(micros, 'micros', false)).toBe(local);
    expect(timestampText(micros, 'micros', true)).toBe(instant);
    if (micros % 1000n === 0n) expect(timestampText(micros / 1000n, 'millis', true)).toBe(instant);
    expect(timestampText(micros * 1000n, 'nanos', true)).toBe(instant);
  });

  it.each([0, -1, 19_723, -719_162, -719_163, -719_528, -800_000, 2_932_896])('date %s matches DATE', async (days) => {
    expect(dateText(days)).toBe(await duckdbText(`DATE '1970-01-01' + ${days}`));
  });

  it.each([0, 1, 500_000, 3_723_000_010, 86_399_999_999])('time-micros %s matches TIME', async (micros) => {
    expect(timeText(micros, 'micros')).toBe(await duckdbText(`TIME '00:00:00' + to_microseconds(${micros})`));
  });

  it('writes decimals with every digit of their scale', () => {
    expect(decimalText(Buffer.from([0x30, 0x39]), 2)).toBe('123.45');
    expect(decimalText(Buffer.from([0x30, 0x39]), 4)).toBe('1.2345');
    expect(decimalText(Buffer.from([0x01, 0x2d, 0x5c]), 4)).toBe('7.7148');
    expect(decimalText(Buffer.from([0xfb]), 2)).toBe('-0.05');
    expect(decimalText(Buffer.from([0x80, 0x00]), 0)).toBe('-32768');
    expect(decimalText(Buffer.alloc(0), 3)).toBe('0.000');
  });
});

describe('decoding logical types', () => {
  const type = parseAvroType({
    type: 'record',
    name: 'Row',
    fields: [
      { name: 'price', type: { type: 'bytes', logicalType: 'decimal', precision: 12, scale: 4 } },
      {
        name: 'fixedPrice',
        type: { type: 'fixed', name: 'D', size: 8, logicalType: 'decimal', precision: 18, scale: 2 },
      },
      { name: 'at', type: { type: 'long', logicalType: 'timestamp-millis' } },
      { name: 'atMicros', type: { type: 'long', logicalType: 'timestamp-micros' } },
      { name: 'atNanos', type: { type: 'long', logicalType: 'timestamp-nanos' } },
      { name: 'local', type: { type: 'long', logicalType: 'local-timestamp-micros' } },
      { name: 'day', type: { type: 'int', logicalType: 'date' } },
      { name: 'clock', type: { type: 'int', logicalType: 'time-millis' } },
      { name: 'id', type: { type: 'string', logicalType: 'uuid' } },
      { name: 'fixedId', type: { type: 'fixed', name: 'U', size: 16, logicalType: 'uuid' } },
      { name: 'maybe', type: ['null', { type: 'long', logicalType: 'timestamp-millis' }] },
      { name: 'big', type: { type: 'long' } },
      // Not a valid decimal (no precision): read as its underlying bytes, as the spec says.
      { name: 'notDecimal', type: { type: 'bytes', logicalType: 'decimal' } },
    ],
  });
  const record = {
    price: Buffer.from([0x12, 0xd6, 0x87]), // 1234567 → 123.4567
    fixedPrice: Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x9c]), // −100 → −1.00
    at: 1_704_164_645_120,
    atMicros: 1_704_164_645_120_000,
    atNanos: 1_704_164_645_120_000_001n,
    local: 1_704_164_645_000_000,
    day: 19_724,
    clock: 11_045_500,
    id: '0f8fad5b-d9cb-469f-a165-70867728950e',
    fixedId: Buffer.from('0f8fad5bd9cb469fa16570867728950e', 'hex'),
    maybe: 0,
    big: 2n ** 53n + 1n,
    notDecimal: Buffer.from('A'),
  };

  it('decodes each to the text the Parquet path gives, exact numbers as JSON numbers', () => {
    const text = avroRecordToJsonText(type, type.fromBuffer(type.toBuffer(record)));
    expect(text).toBe(
      '{"price":123.4567,"fixedPrice":-1.00,"at":"2024-01-02 03:04:05.12+00","atMicros":"2024-01-02 03:04:05.12+00",' +
        '"atNanos":"2024-01-02 03:04:05.120000001+00","local":"2024-01-02 03:04:05","day":"2024-01-02",' +
        '"clock":"03:04:05.5","id":"0f8fad5b-d9cb-469f-a165-70867728950e","fixedId":"0f8fad5b-d9cb-469f-a165-70867728950e",' +
        '"maybe":"1970-01-01 00:00:00+00","big":9007199254740993,"notDecimal":"A"}',
    );
  });
});
