import { describe, expect, it } from 'vitest';
import { packPartition } from '../../../src/align/prepare.js';
import { createTextRing, TextRingReader, TextRingWriter } from '../../../src/sources/thread/text-ring.js';

describe('text ring', () => {
  it('hands out contiguous room in order, starts over at the beginning, and frees what is released', () => {
    const memory = createTextRing(100);
    const writer = new TextRingWriter(memory);
    const reader = new TextRingReader(memory);
    const first = writer.reserve(40);
    const second = writer.reserve(40);
    expect(first?.slot).toEqual({ offset: 8, length: 40, end: 40 });
    expect(second?.slot).toEqual({ offset: 48, length: 40, end: 80 });
    // 20 bytes are left before the end, and the beginning is still taken.
    expect(writer.reserve(30)).toBeUndefined();
    expect(writer.reserve(0)).toBeUndefined();
    expect(writer.reserve(101)).toBeUndefined();

    reader.release(first?.slot ?? { offset: 0, length: 0, end: 0 });
    const third = writer.reserve(30);
    expect(third?.slot).toEqual({ offset: 8, length: 30, end: 130 });
    expect(writer.reserve(20)).toBeUndefined();

    reader.release(second?.slot ?? { offset: 0, length: 0, end: 0 });
    // Releasing an earlier slot again frees nothing more, nor takes back what was freed.
    reader.release(first?.slot ?? { offset: 0, length: 0, end: 0 });
    // The 20 bytes skipped at the end stay taken until the slot after them is released.
    expect(writer.reserve(60)).toBeUndefined();
    expect(writer.reserve(50)?.slot).toEqual({ offset: 38, length: 50, end: 180 });
  });

  it('shows the reading side the bytes the writing side packed', () => {
    const memory = createTextRing(1024);
    const pack = packPartition(
      't/0',
      [1, 2],
      ['{"a":1}', Buffer.from('{"b":2}')],
      undefined,
      undefined,
      new TextRingWriter(memory),
    );
    expect(pack.ring).toEqual({ offset: 8, length: 15, end: 15 });
    const view = new TextRingReader(memory).view(pack.ring ?? { offset: 0, length: 0, end: 0 });
    expect(Buffer.from(view).toString()).toBe('{"a":1}\u001e{"b":2}');
  });

  it('packs into a buffer of its own when the ring has no room', () => {
    const pack = packPartition('t/0', [1], ['{"a":1}'], undefined, undefined, new TextRingWriter(createTextRing(4)));
    expect(pack.ring).toBeUndefined();
    expect(Buffer.from(pack.docs).toString()).toBe('{"a":1}');
    expect(pack.docs.buffer.byteLength).toBe(pack.docs.byteLength);
  });
});
