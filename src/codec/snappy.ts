/**
 * Snappy raw-format decompression (https://github.com/google/snappy/blob/main/format_description.txt).
 * Spark and Hadoop write Avro container files with the snappy codec by default, and no
 * snappy package is among our dependencies; the decoder is short and pure.
 */
export function snappyUncompress(input: Buffer): Buffer {
  let pos = 0;
  const byte = (): number => {
    if (pos >= input.length) throw new Error('snappy: input ends inside an element');
    return input[pos++]!;
  };

  let length = 0;
  for (let shift = 0; ; shift += 7) {
    if (shift > 28) throw new Error('snappy: invalid length preamble');
    const b = byte();
    length += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) break;
  }
  // No element expands more than 64 bytes out of 3 in: a larger claim is corruption, and must
  // not become a huge allocation.
  if (length > input.length * 22) throw new Error(`snappy: declared length ${length} is impossible`);
  const output = Buffer.allocUnsafe(length);
  let out = 0;

  while (pos < input.length) {
    const tag = byte();
    const kind = tag & 3;
    if (kind === 0) {
      let size = tag >> 2;
      if (size >= 60) {
        const extra = size - 59;
        size = 0;
        for (let i = 0; i < extra; i++) size += byte() * 2 ** (8 * i);
      }
      size += 1;
      if (pos + size > input.length || out + size > length) throw new Error('snappy: literal out of bounds');
      input.copy(output, out, pos, pos + size);
      pos += size;
      out += size;
      continue;
    }
    let size: number;
    let offset: number;
    if (kind === 1) {
      size = 4 + ((tag >> 2) & 7);
      offset = ((tag >> 5) << 8) | byte();
    } else if (kind === 2) {
      size = (tag >> 2) + 1;
      offset = byte() | (byte() << 8);
    } else {
      size = (tag >> 2) + 1;
      offset = (byte() | (byte() << 8) | (byte() << 16)) + byte() * 2 ** 24;
    }
    if (offset === 0 || offset > out || out + size > length) throw new Error('snappy: copy out of bounds');
    if (offset >= size) {
      output.copyWithin(out, out - offset, out - offset + size);
      out += size;
    } else {
      // An overlapping copy repeats the bytes it is writing (run-length style): byte by byte.
      for (let i = 0; i < size; i++, out++) output[out] = output[out - offset]!;
    }
  }
  if (out !== length) throw new Error(`snappy: produced ${out} bytes, expected ${length}`);
  return output;
}
