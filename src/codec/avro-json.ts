import type { Type, types } from 'avsc';
import { setEntry } from './avro-collections.js';
import { isJsonNumber, jsonNumber } from './avro-logical.js';
import { DecodeError } from './decode-error.js';

/** Turns one avsc-decoded value into its JSON-safe form; `null` means "already JSON-safe". */
type Converter = (value: unknown) => unknown;

const converters = new WeakMap<Type, Converter | null>();

/** Avro's JSON encoding maps each byte to the code point of the same value (ISO-8859-1). */
const bytesToString: Converter = (value) => (value as Buffer).toString('latin1');

// JSON has no NaN or infinities; JSON.stringify would turn them into null, which the diff
// could then find "equal" to a real null. Strings keep them visible and distinct.
const finiteOrString: Converter = (value) => (Number.isFinite(value) ? value : String(value));

// A long beyond ±(2^53 − 1) arrives as a bigint (see avro-long.ts): it stays a JSON number, with
// every digit in the text, as the Parquet and NDJSON paths give it.
const longToJson: Converter = (value) => (typeof value === 'bigint' ? jsonNumber(value.toString()) : value);

/** Values in an unwrapped union are told apart by their JavaScript kind, as avsc does. */
function scalarToJson(value: unknown): unknown {
  if (typeof value === 'number') return finiteOrString(value);
  if (typeof value === 'bigint') return jsonNumber(value.toString());
  if (Buffer.isBuffer(value)) return bytesToString(value);
  return value;
}

function compileRecord(type: types.RecordType): Converter | null {
  let resolved: Converter | null = null;
  // A recursive record meets itself while its fields compile: it gets this forwarder, and
  // the record is treated as needing conversion.
  converters.set(type, (value) => (resolved === null ? value : resolved(value)));
  const fields = type.fields.map((field) => ({ name: field.name, convert: compile(field.type) }));
  if (fields.some((field) => field.convert !== null)) {
    resolved = (value) => {
      const record = value as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const { name, convert } of fields) out[name] = convert === null ? record[name] : convert(record[name]);
      return out;
    };
  }
  converters.set(type, resolved);
  return resolved;
}

function compileUnion(type: Type, wrapped: boolean): Converter | null {
  const branches = (type as types.WrappedUnionType).types;
  if (wrapped) {
    // avsc wraps ambiguous unions as {branchName: value}; the diff wants the value alone.
    const byName = new Map(branches.map((branch) => [branch.branchName, compile(branch)]));
    return (value) => {
      if (value === null) return null;
      for (const name in value as object) {
        const convert = byName.get(name);
        const inner = (value as Record<string, unknown>)[name];
        return convert ? convert(inner) : inner;
      }
      return value;
    };
  }
  if (branches.every((branch) => compile(branch) === null)) return null;
  // An unwrapped union has at most one array branch and one record-or-map branch.
  const arrayBranch = branches.find((branch) => branch.typeName === 'array');
  const objectBranch = branches.find((branch) => ['record', 'error', 'map'].includes(branch.typeName));
  const convertArray = arrayBranch ? compile(arrayBranch) : null;
  const convertObject = objectBranch ? compile(objectBranch) : null;
  return (value) => {
    // A decoded decimal is a JSON number object (jsonNumber), not a record.
    if (value === null || typeof value !== 'object' || Buffer.isBuffer(value) || isJsonNumber(value)) {
      return scalarToJson(value);
    }
    const convert = Array.isArray(value) ? convertArray : convertObject;
    return convert === null ? value : convert(value);
  };
}

function compile(type: Type): Converter | null {
  if (converters.has(type)) return converters.get(type) ?? null;
  let converter: Converter | null;
  switch (type.typeName) {
    case 'null':
    case 'boolean':
    case 'int':
    case 'string':
    case 'enum':
      converter = null;
      break;
    case 'long':
    case 'abstract:long':
      converter = longToJson;
      break;
    case 'float':
    case 'double':
      converter = finiteOrString;
      break;
    case 'bytes':
    case 'fixed':
      converter = bytesToString;
      break;
    case 'record':
    case 'error':
      return compileRecord(type as types.RecordType);
    case 'array': {
      const item = compile((type as types.ArrayType).itemsType);
      converter = item === null ? null : (value) => (value as unknown[]).map(item);
      break;
    }
    case 'map': {
      const entry = compile((type as types.MapType).valuesType as Type);
      converter =
        entry === null
          ? null
          : (value) => {
              const out: Record<string, unknown> = {};
              for (const [key, inner] of Object.entries(value as object)) setEntry(out, key, entry(inner));
              return out;
            };
      break;
    }
    case 'union:wrapped':
      converter = compileUnion(type, true);
      break;
    case 'union:unwrapped':
      converter = compileUnion(type, false);
      break;
    default:
      // Logical types (avro-logical.ts) decode to JSON values already. Any other type name is a
      // programming error, not bad input.
      if (!type.typeName.startsWith('logical:')) {
        throw new Error(`unsupported Avro type ${type.typeName}: parse schemas with parseAvroType`);
      }
      converter = null;
  }
  converters.set(type, converter);
  return converter;
}

/**
 * The JSON-safe form of a value decoded by `type` (a type from parseAvroType): bytes and fixed
 * as ISO-8859-1 strings, longs beyond 2^53 as exact JSON numbers (`jsonNumber`), NaN/±Infinity
 * as strings, unions unwrapped, enums as their symbol, maps as objects, logical types as their
 * JSON values (avro-logical.ts). The type is needed because a wrapped union looks like a one-entry map.
 */
export function avroValueToJson(type: Type, value: unknown): unknown {
  const convert = compile(type);
  return convert === null ? value : convert(value);
}

/** JSON text of one decoded record; a value that is not a JSON object is a DecodeError. */
export function avroRecordToJsonText(type: Type, value: unknown): string {
  const json = avroValueToJson(type, value);
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new DecodeError('not_object', `Avro value of type ${type.typeName} is not a record`);
  }
  return JSON.stringify(json);
}
