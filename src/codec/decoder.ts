import type { ComparisonConfig } from '../config/schema.js';
import { loadAvroSchema } from './avro-schema.js';
import { decodeConfluent } from './confluent.js';
import { parseJsonMessage } from './json.js';
import type { SchemaSource } from './registry.js';

/** One decoded message: its JSON object text, and the object itself when decoding parsed it anyway. */
export interface DecodedMessage {
  text: string;
  value?: Record<string, unknown>;
}

/** Turns one Kafka message value into a JSON object, or throws a DecodeError (counted invalid). */
export type MessageDecoder = (value: Buffer) => DecodedMessage | Promise<DecodedMessage>;

/** The decoder for a comparison's `format`: JSON, Confluent-framed Avro (registry), or raw Avro with a local schema. */
export async function createDecoder(
  comparison: Pick<ComparisonConfig, 'format' | 'schema' | 'maxMessageBytes'>,
  registry: () => SchemaSource,
): Promise<MessageDecoder> {
  switch (comparison.format) {
    case 'avro': {
      const source = registry();
      return async (value) => ({ text: await decodeConfluent(value, source) });
    }
    case 'avro-schema': {
      const decoder = await loadAvroSchema(comparison.schema as string);
      return (value) => ({ text: decoder.decode(value) });
    }
    default:
      return (value) => parseJsonMessage(value, comparison.maxMessageBytes);
  }
}
