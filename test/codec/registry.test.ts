import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DecodeError } from '../../src/codec/decode-error.js';
import { SchemaRegistryClient } from '../../src/codec/registry.js';
import { ShadowdiffError } from '../../src/errors.js';

const ORDER = { type: 'record', name: 'Order', fields: [{ name: 'order_id', type: 'long' }] };

type Handler = (request: IncomingMessage) => { status: number; body: unknown; delayMs?: number };

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

/** A real registry stand-in on 127.0.0.1 that records the requests it gets. */
async function registry(handler: Handler) {
  const requests: IncomingMessage[] = [];
  const server = createServer((request, response) => {
    requests.push(request);
    const { status, body, delayMs = 0 } = handler(request);
    setTimeout(() => {
      response.writeHead(status, { 'content-type': 'application/vnd.schemaregistry.v1+json' });
      response.end(typeof body === 'string' ? body : JSON.stringify(body));
    }, delayMs);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requests };
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: Error) => error,
  );
}

describe('SchemaRegistryClient', () => {
  it('makes one request for many concurrent lookups of one id, then serves from cache', async () => {
    const server = await registry(() => ({ status: 200, body: { schema: JSON.stringify(ORDER) }, delayMs: 50 }));
    const client = new SchemaRegistryClient({ url: server.url });
    const types = await Promise.all(Array.from({ length: 50 }, () => client.getSchema(7)));
    expect(new Set(types).size).toBe(1);
    expect(types[0]!.fromBuffer(types[0]!.toBuffer({ order_id: 2n ** 60n }))).toEqual({ order_id: 2n ** 60n });
    expect(await client.getSchema(7)).toBe(types[0]);
    expect(server.requests.map((request) => request.url)).toEqual(['/schemas/ids/7']);
    expect(server.requests[0]!.headers.accept).toBe('application/vnd.schemaregistry.v1+json, application/json');
  });

  it('answers 404 with an unknown_schema DecodeError remembered only briefly', async () => {
    let registered = false;
    const server = await registry(() =>
      registered
        ? { status: 200, body: { schema: JSON.stringify(ORDER), schemaType: 'AVRO' } }
        : { status: 404, body: { error_code: 40403, message: 'Schema 9 not found' } },
    );
    let now = 1_000;
    const client = new SchemaRegistryClient({ url: server.url, unknownIdTtlMs: 5_000, now: () => now });
    const first = await rejection(client.getSchema(9));
    expect(first).toBeInstanceOf(DecodeError);
    expect((first as DecodeError).reason).toBe('unknown_schema');
    expect(first.message).toBe(`unknown schema id 9 (not in schema registry ${server.url})`);
    await rejection(client.getSchema(9));
    expect(server.requests.length).toBe(1);

    registered = true;
    now += 5_000;
    const type = await client.getSchema(9);
    expect(type.typeName).toBe('record');
    expect(server.requests.length).toBe(2);
  });

  it('keeps a schema it cannot use cached as an unknown_schema error', async () => {
    const server = await registry((request) =>
      request.url === '/schemas/ids/1'
        ? { status: 200, body: { schema: 'syntax = "proto3";', schemaType: 'PROTOBUF' } }
        : {
            status: 200,
            body: { schema: '{"type": "record", "name": "R", "fields": [{"name": "a", "type": "nope"}]}' },
          },
    );
    const client = new SchemaRegistryClient({ url: server.url });
    const protobuf = await rejection(client.getSchema(1));
    expect(protobuf.message).toBe('schema id 1 is a PROTOBUF schema, not Avro');
    expect((protobuf as DecodeError).reason).toBe('unknown_schema');
    const invalid = await rejection(client.getSchema(2));
    expect(invalid.message).toMatch(/^schema id 2 is not a valid Avro schema: undefined type name: nope/);
    await rejection(client.getSchema(1));
    await rejection(client.getSchema(2));
    expect(server.requests.length).toBe(2);
  });

  it('treats 500 as a retryable outage and asks again next time', async () => {
    let fail = true;
    const server = await registry(() =>
      fail
        ? { status: 500, body: { error_code: 50001, message: 'Error in the backend data store' } }
        : { status: 200, body: { schema: JSON.stringify(ORDER) } },
    );
    const client = new SchemaRegistryClient({ url: server.url });
    const error = await rejection(client.getSchema(3));
    expect(error).toBeInstanceOf(ShadowdiffError);
    expect((error as ShadowdiffError).code).toBe('SD_REGISTRY_UNAVAILABLE');
    expect((error as ShadowdiffError).canRetry).toBe(true);
    expect(error.message).toBe(
      `schema registry ${server.url} answered 500 for /schemas/ids/3: Error in the backend data store`,
    );
    fail = false;
    expect((await client.getSchema(3)).typeName).toBe('record');
    expect(server.requests.length).toBe(2);
  });

  it('treats a refused connection and a timeout as retryable outages', async () => {
    const server = await registry(() => ({ status: 200, body: { schema: JSON.stringify(ORDER) }, delayMs: 500 }));
    const slow = new SchemaRegistryClient({ url: server.url, timeoutMs: 50 });
    const timeout = (await rejection(slow.getSchema(1))) as ShadowdiffError;
    expect(timeout.code).toBe('SD_REGISTRY_UNAVAILABLE');
    expect(timeout.canRetry).toBe(true);
    expect(timeout.message).toMatch(
      new RegExp(`^schema registry ${server.url} unreachable \\(schema id 1\\): .*timeout`),
    );

    const closed = await registry(() => ({ status: 200, body: {} }));
    await new Promise((resolve) => servers.pop()!.close(resolve));
    const refused = (await rejection(new SchemaRegistryClient({ url: closed.url }).getSchema(1))) as ShadowdiffError;
    expect(refused.code).toBe('SD_REGISTRY_UNAVAILABLE');
    expect(refused.canRetry).toBe(true);
    expect(refused.message).toMatch(/unreachable \(schema id 1\): fetch failed: .*ECONNREFUSED/);
  });

  it('sends basic auth from the URL and never repeats the password', async () => {
    const server = await registry((request) =>
      request.headers.authorization === `Basic ${Buffer.from('svc:s3cr3t/pw').toString('base64')}`
        ? { status: 200, body: { schema: JSON.stringify(ORDER) } }
        : { status: 401, body: { error_code: 40101, message: 'Unauthorized' } },
    );
    const withAuth = server.url.replace('http://', 'http://svc:s3cr3t%2Fpw@');
    const client = new SchemaRegistryClient({ url: `${withAuth}/` });
    expect(client.url).toBe(server.url);
    expect((await client.getSchema(1)).typeName).toBe('record');

    const wrong = new SchemaRegistryClient({ url: server.url.replace('http://', 'http://svc:wrong-pass@') });
    const denied = (await rejection(wrong.getSchema(1))) as ShadowdiffError;
    expect(denied.code).toBe('SD_REGISTRY_UNAVAILABLE');
    expect(denied.canRetry).toBe(false);
    expect(denied.message).toBe(`schema registry ${server.url} answered 401 for /schemas/ids/1: Unauthorized`);

    const port = Number(new URL(server.url).port);
    await new Promise((resolve) => servers.pop()!.close(resolve));
    const down = new SchemaRegistryClient({ url: `http://svc:s3cr3t@127.0.0.1:${port}` });
    const refused = (await rejection(down.getSchema(1))) as ShadowdiffError;
    for (const error of [denied, refused]) {
      const everything = `${error.message} ${String(error.cause)} ${String((error.cause as Error | undefined)?.cause)}`;
      expect(everything).not.toContain('s3cr3t');
      expect(everything).not.toContain('wrong-pass');
    }
    expect(() => new SchemaRegistryClient({ url: 'http://svc:s3cr3t@[bad' })).toThrow(
      new ShadowdiffError('SD_CONFIG_INVALID', 'schemaRegistry.url is not a valid URL'),
    );
  });

  it('resolves schema references through their subjects', async () => {
    const money = { type: 'record', name: 'Money', namespace: 'com.acme', fields: [{ name: 'cents', type: 'long' }] };
    const order = {
      type: 'record',
      name: 'Order',
      namespace: 'com.acme',
      fields: [{ name: 'total', type: 'com.acme.Money' }],
    };
    const server = await registry((request) =>
      request.url === '/schemas/ids/11'
        ? {
            status: 200,
            body: {
              schema: JSON.stringify(order),
              references: [{ name: 'com.acme.Money', subject: 'money value', version: 2 }],
            },
          }
        : { status: 200, body: { subject: 'money value', version: 2, id: 10, schema: JSON.stringify(money) } },
    );
    const client = new SchemaRegistryClient({ url: `${server.url}/` });
    const type = await client.getSchema(11);
    expect(type.fromBuffer(type.toBuffer({ total: { cents: 250 } }))).toEqual({ total: { cents: 250 } });
    expect(server.requests.map((request) => request.url)).toEqual([
      '/schemas/ids/11',
      '/subjects/money%20value/versions/2',
    ]);
  });
});
