import { type FileHandle, open } from 'node:fs/promises';
import { promisify } from 'node:util';
import { crc32, inflateRaw } from 'node:zlib';
import avsc, { type Type } from 'avsc';
import { ShadowdiffError } from '../errors.js';
import { maxItems } from './avro-collections.js';
import { avroRecordToJsonText } from './avro-json.js';
import { parseAvroType } from './avro-type.js';
import { type DecodeReason, isDecodeError } from './decode-error.js';
import { snappyUncompress } from './snappy.js';

/**
 * One record of an Avro object container file. `position` is the 1-based record index in the
 * file; `json` is null when the record could not be decoded, and `error`/`reason` say why.
 */
export interface AvroFileRecord {
  position: number;
  json: string | null;
  error?: string;
  reason?: DecodeReason;
}

export interface AvroFile {
  readonly path: string;
  /** The writer schema from the file header, parsed with parseAvroType. */
  readonly type: Type;
  readonly codec: string;
  /** Reads the file from the start each time it is called. */
  records(): AsyncGenerator<AvroFileRecord>;
}

const MAGIC = Buffer.from('Obj\x01', 'latin1');
const SYNC_SIZE = 16;
const READ_SIZE = 1 << 20;

const HEADER_TYPE = avsc.Type.forSchema({
  type: 'record',
  name: 'Header',
  namespace: 'org.apache.avro.file',
  fields: [
    { name: 'magic', type: { type: 'fixed', name: 'Magic', size: 4 } },
    { name: 'meta', type: { type: 'map', values: 'bytes' } },
    { name: 'sync', type: { type: 'fixed', name: 'Sync', size: SYNC_SIZE } },
  ],
});

const inflate = promisify(inflateRaw);

/** Avro's snappy codec appends the big-endian CRC-32 of the uncompressed block. */
function unsnappy(data: Buffer): Buffer {
  if (data.length < 4) throw new Error('snappy block shorter than its checksum');
  const block = snappyUncompress(data.subarray(0, data.length - 4));
  if (crc32(block) !== data.readUInt32BE(data.length - 4)) {
    throw new Error('snappy block checksum mismatch');
  }
  return block;
}

const CODECS: Record<string, (data: Buffer) => Buffer | Promise<Buffer>> = {
  null: (data) => data,
  deflate: (data) => inflate(data),
  snappy: unsnappy,
};

function unreadable(path: string, message: string, cause?: unknown): ShadowdiffError {
  return new ShadowdiffError('SD_INPUT_UNREADABLE', `Avro file ${path}: ${message}`, { cause });
}

/** Sequential reads with a window of unconsumed bytes; a block is never split across windows. */
class FileBytes {
  buf = Buffer.alloc(0);
  pos = 0;
  /** File offset of buf[0]. */
  base = 0;
  #eof = false;

  private constructor(
    readonly path: string,
    readonly handle: FileHandle,
    readonly size: number,
  ) {}

  static async open(path: string): Promise<FileBytes> {
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (error) {
      throw unreadable(path, `cannot open: ${(error as Error).message}`, error);
    }
    try {
      return new FileBytes(path, handle, (await handle.stat()).size);
    } catch (error) {
      await handle.close();
      throw unreadable(path, `cannot stat: ${(error as Error).message}`, error);
    }
  }

  get offset(): number {
    return this.base + this.pos;
  }

  get available(): number {
    return this.buf.length - this.pos;
  }

  /** Makes at least `n` bytes available past `pos`; false when the file ends first. */
  async fill(n: number): Promise<boolean> {
    while (this.available < n && !this.#eof) {
      const chunk = Buffer.allocUnsafe(Math.max(READ_SIZE, n - this.available));
      let bytesRead: number;
      try {
        ({ bytesRead } = await this.handle.read(chunk, 0, chunk.length, null));
      } catch (error) {
        throw unreadable(
          this.path,
          `read failed at byte ${this.base + this.buf.length}: ${(error as Error).message}`,
          error,
        );
      }
      if (bytesRead === 0) {
        this.#eof = true;
        break;
      }
      this.base += this.pos;
      this.buf = Buffer.concat([this.buf.subarray(this.pos), chunk.subarray(0, bytesRead)]);
      this.pos = 0;
    }
    return this.available >= n;
  }
}

interface Header {
  type: Type;
  codec: string;
  sync: Buffer;
}

async function readHeader(bytes: FileBytes, path: string): Promise<Header> {
  if (!(await bytes.fill(MAGIC.length)) || !bytes.buf.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw unreadable(path, 'not an Avro object container file (no "Obj\\x01" magic bytes)');
  }
  let header: { meta: Record<string, Buffer>; sync: Buffer };
  for (;;) {
    let decoded: { value: unknown; offset: number };
    try {
      decoded = HEADER_TYPE.decode(bytes.buf, bytes.pos);
    } catch (error) {
      throw unreadable(path, `corrupt header: ${(error as Error).message}`, error);
    }
    if (decoded.offset >= 0) {
      header = decoded.value as typeof header;
      bytes.pos = decoded.offset;
      break;
    }
    if (!(await bytes.fill(bytes.available + 1))) throw unreadable(path, 'file ends inside the header');
  }
  const codec = header.meta['avro.codec']?.toString('utf8') || 'null';
  if (!(codec in CODECS)) {
    throw unreadable(path, `unsupported codec "${codec}" (supported: ${Object.keys(CODECS).join(', ')})`);
  }
  const schema = header.meta['avro.schema'];
  if (schema === undefined) throw unreadable(path, 'header has no avro.schema');
  try {
    return { type: parseAvroType(JSON.parse(schema.toString('utf8'))), codec, sync: header.sync };
  } catch (error) {
    throw unreadable(path, `invalid schema in header: ${(error as Error).message}`, error);
  }
}

/** A block's count or size: a zig-zag varint. Undefined when `buf` ends inside it. */
function readLong(buf: Buffer, pos: number): { value: number; next: number } | undefined {
  let zigzag = 0;
  for (let i = 0, scale = 1; pos + i < buf.length && i < 10; i++, scale *= 128) {
    const byte = buf[pos + i]!;
    zigzag += (byte & 0x7f) * scale;
    if (byte < 0x80) return { value: zigzag % 2 === 0 ? zigzag / 2 : -(zigzag + 1) / 2, next: pos + i + 1 };
  }
  return undefined;
}

function failed(position: number, reason: DecodeReason, error: string): AvroFileRecord {
  return { position, json: null, error, reason };
}

/**
 * Decodes the records of one block. After a record fails to decode, the rest of its block
 * cannot be located, so each of them is reported too: the counts still add up.
 */
function* decodeBlock(
  type: Type,
  data: Buffer,
  count: number,
  first: number,
  where: string,
): Generator<AvroFileRecord> {
  let pos = 0;
  for (let i = 0; i < count; i++) {
    const position = first + i;
    let decoded: { value: unknown; offset: number };
    try {
      decoded = type.decode(data, pos);
    } catch (error) {
      yield failed(
        position,
        'malformed',
        `record ${position} in ${where} cannot be decoded: ${(error as Error).message}`,
      );
      for (let j = i + 1; j < count; j++) yield lostAfter(first + j, position, where);
      return;
    }
    if (decoded.offset < 0) {
      yield failed(position, 'truncated', `${where} ends inside record ${position}`);
      for (let j = i + 1; j < count; j++) yield lostAfter(first + j, position, where);
      return;
    }
    pos = decoded.offset;
    try {
      yield { position, json: avroRecordToJsonText(type, decoded.value) };
    } catch (error) {
      if (!isDecodeError(error)) throw error;
      yield failed(position, error.reason, `record ${position}: ${error.message}`);
    }
  }
}

function lostAfter(position: number, bad: number, where: string): AvroFileRecord {
  return failed(
    position,
    'malformed',
    `record ${position} is unreadable: record ${bad} before it in ${where} is corrupt`,
  );
}

async function* readRecords(path: string): AsyncGenerator<AvroFileRecord> {
  const bytes = await FileBytes.open(path);
  try {
    const { type, codec, sync } = await readHeader(bytes, path);
    const decompress = CODECS[codec]!;
    let position = 1;
    for (let index = 1; await bytes.fill(1); index++) {
      const start = bytes.offset;
      const where = `block ${index} (byte ${start})`;
      await bytes.fill(20);
      const count = readLong(bytes.buf, bytes.pos);
      const size = count && readLong(bytes.buf, count.next);
      if (!count || !size) throw unreadable(path, `file ends inside the header of ${where}`);
      if (count.value < 0 || size.value < 0) {
        throw unreadable(path, `${where} has a negative record count or size: the file is corrupt`);
      }
      const dataStart = size.next - bytes.pos;
      const total = dataStart + size.value + SYNC_SIZE;
      if (start + total > bytes.size || !(await bytes.fill(total))) {
        throw unreadable(
          path,
          `${where} needs ${total} bytes but the file ends at byte ${bytes.size}: truncated or corrupt`,
        );
      }
      // fill() may have moved the window: offsets are taken from pos again.
      const dataAt = bytes.pos + dataStart;
      const data = bytes.buf.subarray(dataAt, dataAt + size.value);
      const marker = bytes.buf.subarray(dataAt + size.value, dataAt + size.value + SYNC_SIZE);
      bytes.pos += total;
      // A wrong sync marker means the block boundaries are lost: nothing after it can be
      // counted reliably, so this ends the file rather than guessing.
      if (!marker.equals(sync)) {
        throw unreadable(path, `${where} is not followed by the sync marker: the file is corrupt`);
      }

      let block: Buffer | undefined;
      let problem = '';
      try {
        block = await decompress(data);
      } catch (error) {
        problem = `${where} cannot be decompressed (${codec}): ${(error as Error).message}`;
      }
      // A damaged count would otherwise be reported record by record, up to 2^63 of them.
      if (block !== undefined && count.value > maxItems(type, block.length)) {
        throw unreadable(
          path,
          `${where} declares ${count.value} records in ${block.length} bytes: the file is corrupt`,
        );
      }
      if (block === undefined) {
        for (let i = 0; i < count.value; i++) yield failed(position + i, 'malformed', problem);
      } else {
        yield* decodeBlock(type, block, count.value, position, where);
      }
      position += count.value;
    }
  } finally {
    await bytes.handle.close();
  }
}

/**
 * Opens an Avro object container file and reads its header (schema, codec). Records are then
 * read by `records()`, one block in memory at a time.
 *
 * Errors: a file that cannot be opened, a bad header, an unsupported codec, a truncated file,
 * a lost sync marker or a block count its data cannot hold throw ShadowdiffError
 * SD_INPUT_UNREADABLE, because the number of records lost cannot be known. A block that does not decompress, or a record that does not
 * decode, becomes per-record errors (counted invalid) and reading goes on with the next block.
 */
export async function openAvroFile(path: string): Promise<AvroFile> {
  const bytes = await FileBytes.open(path);
  let header: Header;
  try {
    header = await readHeader(bytes, path);
  } finally {
    await bytes.handle.close();
  }
  return { path, type: header.type, codec: header.codec, records: () => readRecords(path) };
}
