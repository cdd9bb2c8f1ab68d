import { afterAll, beforeAll, inject } from 'vitest';
import type { KafkaAdmin, KafkaClient, KafkaProducer } from '../../src/sources/kafka/client.js';
import { createKafkajsClient } from '../../src/sources/kafka/kafkajs-client.js';

/** A test file's connection to the run's real broker (test/global-setup.ts): open before its tests, closed after. */
export interface KafkaFixture {
  readonly brokers: string;
  readonly client: KafkaClient;
  readonly admin: KafkaAdmin;
  readonly producer: KafkaProducer;
}

export function kafkaFixture(clientId: string): KafkaFixture {
  const brokers = inject('kafkaBrokers');
  const open: { client?: KafkaClient; admin?: KafkaAdmin; producer?: KafkaProducer } = {};
  beforeAll(async () => {
    open.client = createKafkajsClient({ brokers: brokers.split(','), clientId });
    open.admin = await open.client.connectAdmin();
    open.producer = await open.client.connectProducer();
  });
  afterAll(async () => {
    await open.producer?.disconnect();
    await open.admin?.disconnect();
  });
  const opened = <T>(part: T | undefined): T => {
    if (part === undefined) throw new Error('the Kafka fixture is open only while tests run');
    return part;
  };
  return {
    brokers,
    get client() {
      return opened(open.client);
    },
    get admin() {
      return opened(open.admin);
    },
    get producer() {
      return opened(open.producer);
    },
  };
}
