import type { PackMemory, RingSlot } from '../../align/prepare.js';

/** The bytes before the ring: how far the reading side has released it (a BigInt64 counter). */
const HEADER_BYTES = 8;

/**
 * Shared memory that carries one side's packed texts from its source thread to the main thread.
 * Texts transferred in buffers of their own count as external memory of the main isolate and
 * set off a full garbage collection every few tens of megabytes, which holds up gate polls; a
 * ring allocated once does not. The source thread writes each pack into free space; the main
 * thread releases it once DuckDB has copied it, in the order written. Offsets count bytes ever
 * reserved (never wrapping), so free space is the capacity less what is reserved and not released.
 */
export function createTextRing(capacity: number): SharedArrayBuffer {
  return new SharedArrayBuffer(HEADER_BYTES + capacity);
}

/** The source thread's end. It never waits: with no room left, the packer allocates a buffer of its own. */
export class TextRingWriter implements PackMemory {
  readonly #memory: SharedArrayBuffer;
  readonly #released: BigInt64Array;
  readonly #capacity: number;
  #reserved = 0;

  constructor(memory: SharedArrayBuffer) {
    this.#memory = memory;
    this.#released = new BigInt64Array(memory, 0, 1);
    this.#capacity = memory.byteLength - HEADER_BYTES;
  }

  reserve(length: number): { bytes: Uint8Array; slot: RingSlot } | undefined {
    if (length === 0 || length > this.#capacity) return undefined;
    let start = this.#reserved;
    const at = start % this.#capacity;
    // A pack is contiguous: one that does not fit before the end starts at the beginning.
    if (at + length > this.#capacity) start += this.#capacity - at;
    const end = start + length;
    if (end - Number(Atomics.load(this.#released, 0)) > this.#capacity) return undefined;
    this.#reserved = end;
    const offset = HEADER_BYTES + (start % this.#capacity);
    return { bytes: new Uint8Array(this.#memory, offset, length), slot: { offset, length, end } };
  }
}

/** The main thread's end: a view of each pack, released once its bytes are copied. */
export class TextRingReader {
  readonly #memory: SharedArrayBuffer;
  readonly #released: BigInt64Array;

  constructor(memory: SharedArrayBuffer) {
    this.#memory = memory;
    this.#released = new BigInt64Array(memory, 0, 1);
  }

  view(slot: RingSlot): Uint8Array {
    return new Uint8Array(this.#memory, slot.offset, slot.length);
  }

  /** Frees the slot and every slot written before it. */
  release(slot: RingSlot): void {
    if (BigInt(slot.end) > Atomics.load(this.#released, 0)) Atomics.store(this.#released, 0, BigInt(slot.end));
  }
}
