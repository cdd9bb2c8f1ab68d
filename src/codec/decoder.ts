import type { ComparisonConfig } from '../config/schema.js';
import { loadAvroSchema } from './avro-schema.js';
import { decodeConfluent } from './confluent.js';
import { checkJsonMessage } from './json.js';
import type { SchemaSource } from './registry.js';

/**
 * Turns one Kafka message value into JSON text (as UTF-8 bytes or a string; DuckDB parses it), or
 * throws a DecodeError (counted invalid).
 */
export type MessageDecoder = (value: Buffer) => Buffer | string | Promise<string>;

/** The decoder for a comparison's `format`: JSON, Confluent-framed Avro (registry), or raw Avro with a local schema. */
export async function createDecoder(
  comparison: Pick<ComparisonConfig, 'format' | 'schema' | 'maxMessageBytes'>,
  registry: () => SchemaSource,
): Promise<MessageDecoder> {
  switch (comparison.format) {
    case 'avro': {
      const source = registry();
      return (value) => decodeConfluent(value, source);
    }
    case 'avro-schema': {
      const decoder = await loadAvroSchema(comparison.schema as string);
      return (value) => decoder.decode(value);
    }
    default:
      return (value) => checkJsonMessage(value, comparison.maxMessageBytes);
  }
}
