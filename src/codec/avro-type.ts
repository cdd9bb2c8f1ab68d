import avsc, { type Type } from 'avsc';
import { boundedCollection } from './avro-collections.js';
import { LOGICAL_TYPES, LONG_LOGICAL_TYPES } from './avro-logical.js';
import { type AvroLong, SAFE_LONG } from './avro-long.js';

/**
 * `{"type": "long"}` written as an object makes avsc build its own long, which throws beyond 2^53:
 * this hook gives it the exact one. Longs under a logical type get it from the logical type.
 * Arrays and maps get types that check their block counts (avro-collections.ts); no logical type
 * here has them as underlying type.
 */
function typeHook(schema: unknown, options: unknown): Type | undefined {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return undefined;
  const { type, logicalType } = schema as { type?: unknown; logicalType?: unknown };
  if (type !== 'long') return boundedCollection(schema, options);
  if (LONG_LOGICAL_TYPES.has(logicalType as string)) return undefined;
  return SAFE_LONG;
}

/**
 * Parses an Avro schema the way every shadowdiff codec needs it: longs as {@link AvroLong},
 * array and map block counts bounded by the bytes left (a damaged count is a decode error),
 * logical types decoded to their JSON values (`avro-logical.ts`; others read as their underlying
 * type), unambiguous unions unwrapped (avsc's `auto`).
 * `references` are schemas whose named types `schema` uses (Schema Registry references),
 * dependencies first. Throws avsc's error for an invalid schema; callers wrap it.
 */
export function parseAvroType(schema: unknown, references: readonly unknown[] = []): Type {
  // forSchema adds every named type to the registry it is given: references land there, and
  // each top-level parse needs its own.
  const registry: Record<string, Type> = { long: SAFE_LONG };
  const options = { registry, logicalTypes: LOGICAL_TYPES, typeHook };
  for (const reference of references) avsc.Type.forSchema(reference as AvroSchema, options);
  return avsc.Type.forSchema(schema as AvroSchema, options);
}

type AvroSchema = Parameters<typeof avsc.Type.forSchema>[0];
