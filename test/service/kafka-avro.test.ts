import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseAvroType } from '../../src/codec/avro-type.js';
import { encodeConfluent } from '../../src/codec/confluent.js';
import { parseConfig } from '../../src/config/load.js';
import { Service } from '../../src/service/service.js';
import type { KafkaClient } from '../../src/sources/kafka/client.js';
import { createKafkajsClient } from '../../src/sources/kafka/kafkajs-client.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Avro in the Confluent wire format through the real broker. The schemas come over HTTP from a
 * minimal registry speaking the Schema Registry's `GET /schemas/ids/{id}` (Confluent's own registry
 * is not on the package registries this project can use).
 */
const brokers = inject('kafkaBrokers');
const files = tempDir();
const SCHEMA = {
  type: 'record',
  name: 'Order',
  fields: [
    { name: 'order_id', type: 'string' },
    { name: 'event_time', type: 'long' },
    { name: 'amount', type: 'double' },
    { name: 'note', type: ['null', 'string'], default: null },
  ],
};
const type = parseAvroType(SCHEMA);
let registry: Server;
let registryUrl: string;
let registryRequests = 0;
let client: KafkaClient;

beforeAll(async () => {
  registry = createServer((request, response) => {
    registryRequests++;
    if (request.url === '/schemas/ids/7') {
      response.writeHead(200, { 'content-type': 'application/vnd.schemaregistry.v1+json' });
      response.end(JSON.stringify({ schema: JSON.stringify(SCHEMA) }));
    } else {
      response.writeHead(404, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error_code: 40403, message: 'Schema not found' }));
    }
  });
  await new Promise<void>((resolve) => registry.listen(0, '127.0.0.1', resolve));
  registryUrl = `http://127.0.0.1:${(registry.address() as AddressInfo).port}`;
  client = createKafkajsClient({ brokers: brokers.split(','), clientId: 'shadowdiff-avro-test' });
});

afterAll(async () => {
  await new Promise((resolve) => registry?.close(resolve));
  files.remove();
});

describe('Avro with a schema registry over Kafka', () => {
  it('decodes, diffs and counts undecodable messages as invalid', async () => {
    const suffix = randomUUID().slice(0, 8);
    const topics = { live: `avro.v1-${suffix}`, candidate: `avro.v2-${suffix}` };
    const admin = await client.connectAdmin();
    await admin.createTopics([
      { topic: topics.live, partitions: 1 },
      { topic: topics.candidate, partitions: 1 },
    ]);
    const T0 = Date.UTC(2026, 0, 1);
    const order = (i: number, amount: number) => ({
      order_id: `o-${i}`,
      event_time: T0 + i * 10,
      amount,
      note: i % 3 ? null : 'gift',
    });
    const live = Array.from({ length: 1000 }, (_, i) => ({
      key: `o-${i}`,
      value: encodeConfluent(7, type, order(i, i)),
    }));
    const candidate = Array.from({ length: 1000 }, (_, i) => ({
      key: `o-${i}`,
      value: encodeConfluent(7, type, order(i, i % 20 === 0 ? i + 1 : i)),
    }));
    const unknownId = encodeConfluent(7, type, order(5000, 1));
    unknownId.writeUInt32BE(99, 1);
    candidate.push({ key: 'bad', value: Buffer.from('{"not":"avro"}') }, { key: 'unknown', value: unknownId });
    const flush = { key: 'flush', value: encodeConfluent(7, type, order(1_000_000, 0)) };
    const producer = await client.connectProducer();
    await producer.send(topics.live, [...live, flush]);
    await producer.send(topics.candidate, [...candidate, flush]);
    await producer.disconnect();
    await admin.disconnect();

    const service = await Service.start(
      parseConfig({
        storage: { path: `${files.dir}/avro.duckdb` },
        kafka: { brokers: brokers.split(',') },
        schemaRegistry: { url: registryUrl },
        comparisons: [
          {
            id: 'avro',
            live: { kafka: { topic: topics.live } },
            candidate: { kafka: { topic: topics.candidate } },
            format: 'avro',
            key: ['order_id'],
            time: { field: 'event_time' },
            window: { size: '1s', allowedLateness: '0s' },
            verdict: { tolerance: 0.01, minSamples: 100 },
          },
        ],
      }),
      pino({ level: 'silent' }),
    );
    try {
      const runner = service.get('avro')!;
      await waitFor(() => runner.runtime().closedWindows >= 10, 60_000, 'windows closed');
      const summary = await runner.summary();
      expect(summary.counts).toMatchObject({ equal: 950, different: 50, missing: 0, extra: 0, invalidCandidate: 2 });
      expect(summary.fields.map((f) => f.path)).toEqual(['amount']);
      const invalid = await runner.samples({ outcome: 'invalid', limit: 10 });
      expect(invalid.map((s) => s.reason).sort()).toEqual(['bad_magic', 'unknown_schema']);
      // The schema is fetched once and cached (plus the lookups of the unknown id).
      expect(registryRequests).toBeLessThanOrEqual(3);
    } finally {
      await service.stop();
    }
  });
});
