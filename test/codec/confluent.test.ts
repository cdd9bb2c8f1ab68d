import type { Type } from 'avsc';
import { describe, expect, it } from 'vitest';
import { parseAvroType } from '../../src/codec/avro-type.js';
import { decodeConfluent, encodeConfluent } from '../../src/codec/confluent.js';
import { DecodeError } from '../../src/codec/decode-error.js';
import type { SchemaSource } from '../../src/codec/registry.js';

const ORDER = parseAvroType({
  type: 'record',
  name: 'Order',
  fields: [
    { name: 'order_id', type: 'string' },
    { name: 'amount', type: 'double' },
    { name: 'id64', type: 'long' },
  ],
});

/** An in-memory registry: the HTTP client has its own tests. */
function schemas(byId: Record<number, Type>): SchemaSource & { asked: number[] } {
  const asked: number[] = [];
  return {
    asked,
    getSchema: async (id) => {
      asked.push(id);
      const type = byId[id];
      if (!type) throw new DecodeError('unknown_schema', `unknown schema id ${id}`);
      return type;
    },
  };
}

async function decodeFailure(promise: Promise<unknown>): Promise<DecodeError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(DecodeError);
  return error as DecodeError;
}

describe('Confluent wire format', () => {
  it('encodes magic byte, big-endian schema id and Avro body, and decodes it back', async () => {
    const buf = encodeConfluent(0x01020304, ORDER, { order_id: 'o-1', amount: 12.5, id64: 2n ** 60n });
    expect(buf.subarray(0, 5).toString('hex')).toBe('0001020304');
    expect(buf.subarray(5).equals(ORDER.toBuffer({ order_id: 'o-1', amount: 12.5, id64: 2n ** 60n }))).toBe(true);
    const registry = schemas({ 16909060: ORDER });
    expect(await decodeConfluent(buf, registry)).toBe('{"order_id":"o-1","amount":12.5,"id64":1152921504606846976}');
    expect(registry.asked).toEqual([0x01020304]);
  });

  it.each([
    [
      'an empty message',
      Buffer.alloc(0),
      'truncated',
      'Confluent message of 0 bytes is shorter than its 5-byte header',
    ],
    [
      'a 4-byte message',
      Buffer.from([0, 0, 0, 1]),
      'truncated',
      'Confluent message of 4 bytes is shorter than its 5-byte header',
    ],
    [
      'a wrong magic byte',
      Buffer.from('{"order_id": 1}'),
      'bad_magic',
      'Confluent message starts with byte 123, expected magic byte 0',
    ],
  ])('rejects %s without asking the registry', async (_, buf, reason, message) => {
    const registry = schemas({ 1: ORDER });
    const error = await decodeFailure(decodeConfluent(buf, registry));
    expect(error.reason).toBe(reason);
    expect(error.message).toBe(message);
    expect(registry.asked).toEqual([]);
  });

  it('passes on unknown ids and rejects bodies that do not fit the schema', async () => {
    const registry = schemas({ 1: ORDER });
    const unknown = await decodeFailure(
      decodeConfluent(encodeConfluent(2, ORDER, { order_id: 'a', amount: 1, id64: 1 }), registry),
    );
    expect(unknown.reason).toBe('unknown_schema');
    expect(unknown.message).toBe('unknown schema id 2');

    const good = encodeConfluent(1, ORDER, { order_id: 'a', amount: 1, id64: 1 });
    const truncated = await decodeFailure(decodeConfluent(good.subarray(0, good.length - 1), registry));
    expect(truncated.reason).toBe('truncated');
    const trailing = await decodeFailure(decodeConfluent(Buffer.concat([good, Buffer.from([1])]), registry));
    expect(trailing.reason).toBe('malformed');
    expect(trailing.message).toMatch(/^Avro body has 1 trailing bytes/);
  });
});
