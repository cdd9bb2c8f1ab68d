import avsc, { type Type } from 'avsc';

/**
 * Avro arrays and maps whose block counts are checked against the bytes they are read from.
 *
 * avsc trusts a block's item count and reads that many items even past the end of the buffer, so
 * a damaged count of 2^26 takes 17 s and 400 MB before the body is found truncated (4 bytes,
 * `80808040`, as an array of int). Here a count larger than the bytes left is malformed, since
 * each item takes at least one byte; items that can encode in zero bytes (`null`, empty records)
 * draw on a budget of ZERO_BYTE_ITEMS per decoded value instead. Either way the decode throws,
 * and the caller counts the record invalid.
 */

/** Zero-byte items one decoded value may hold: far beyond real data, small enough to stay fast. */
export const ZERO_BYTE_ITEMS = 1_000_000;

/** The part of avsc's Tap (lib/utils.js) a collection reader uses. */
interface Tap {
  buf: Buffer;
  pos: number;
  readLong(): number;
  skipLong(): void;
  readString(): string;
}

/** avsc's internal read of one value, which every type has. */
type Reader = { _read(tap: Tap): unknown };

const zeroByteCache = new WeakMap<Type, boolean>();

/** True when a value of `type` can encode in zero bytes (it then holds no data at all). */
export function encodesInZeroBytes(type: Type): boolean {
  const known = zeroByteCache.get(type);
  if (known !== undefined) return known;
  // A record that reaches itself does so through a union, array or map, which takes bytes.
  zeroByteCache.set(type, false);
  let zero: boolean;
  switch (type.typeName) {
    case 'null':
      zero = true;
      break;
    case 'fixed':
      zero = (type as avsc.types.FixedType).size === 0;
      break;
    case 'record':
    case 'error':
      zero = (type as avsc.types.RecordType).fields.every((field) => encodesInZeroBytes(field.type));
      break;
    default:
      zero =
        type.typeName.startsWith('logical:') && encodesInZeroBytes((type as avsc.types.LogicalType).underlyingType);
  }
  zeroByteCache.set(type, zero);
  return zero;
}

/** The most items `bytes` bytes can hold: one per byte, or ZERO_BYTE_ITEMS of a zero-byte type. */
export function maxItems(type: Type, bytes: number): number {
  return encodesInZeroBytes(type) ? ZERO_BYTE_ITEMS : bytes;
}

/** Zero-byte items read so far per decode; avsc makes one Tap per decoded value. */
const zeroByteItemsRead = new WeakMap<Tap, number>();

/** Reads one block's item count; 0 ends the collection. Throws when the count cannot be true. */
function blockCount(tap: Tap, kind: string, zeroByteItems: boolean): number {
  let count = tap.readLong();
  if (count < 0) {
    // A negative count is followed by the block's size in bytes, which readers may skip.
    count = -count;
    tap.skipLong();
  }
  if (count === 0) return 0;
  if (zeroByteItems) {
    const read = (zeroByteItemsRead.get(tap) ?? 0) + count;
    if (read > ZERO_BYTE_ITEMS) {
      throw new Error(`${kind} block of ${count} items exceeds the limit of ${ZERO_BYTE_ITEMS} zero-byte items`);
    }
    zeroByteItemsRead.set(tap, read);
  } else {
    const left = Math.max(tap.buf.length - tap.pos, 0);
    if (count > left) {
      throw new Error(`${kind} block of ${count} items, but only ${left} bytes are left (an item takes at least 1)`);
    }
  }
  return count;
}

/** Sets one map entry; the key `__proto__` would set the prototype instead and the entry would vanish. */
export function setEntry(entries: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__')
    Object.defineProperty(entries, key, { value, enumerable: true, writable: true, configurable: true });
  else entries[key] = value;
}

class BoundedArrayType extends avsc.types.ArrayType {
  _read(tap: Tap): unknown[] {
    const items = this.itemsType as unknown as Reader;
    const zero = encodesInZeroBytes(this.itemsType);
    const values: unknown[] = [];
    for (let count = blockCount(tap, 'array', zero); count > 0; count = blockCount(tap, 'array', zero)) {
      for (let i = 0; i < count; i++) values.push(items._read(tap));
    }
    return values;
  }
}

class BoundedMapType extends avsc.types.MapType {
  _read(tap: Tap): Record<string, unknown> {
    const values = this.valuesType as Reader;
    const entries: Record<string, unknown> = {};
    // An entry starts with its key, a string of at least one byte.
    for (let count = blockCount(tap, 'map', false); count > 0; count = blockCount(tap, 'map', false)) {
      for (let i = 0; i < count; i++) {
        setEntry(entries, tap.readString(), values._read(tap));
      }
    }
    return entries;
  }
}

/**
 * The bounded type for an array or map schema, built with the options of the surrounding parse
 * (for avsc's `typeHook`); undefined for any other schema.
 */
export function boundedCollection(schema: { type?: unknown }, options: unknown): Type | undefined {
  if (schema.type === 'array') return new BoundedArrayType(schema as avsc.Schema, options);
  if (schema.type === 'map') return new BoundedMapType(schema as avsc.Schema, options);
  return undefined;
}
