import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { openAvroFile } from '../codec/avro-file.js';
import { ShadowdiffError } from '../errors.js';
import { formatFromPath } from './file.js';
import { LocalSource } from './local-source.js';
import type { DurablePositions, RawRecord, RecordHandler } from './source.js';

const BATCH = 5000;
const FOLLOW_POLL_MS = 500;

export interface FileReplayOptions {
  path: string;
  format?: 'json' | 'csv' | 'parquet' | 'avro' | undefined;
  /** Keep reading what is appended to the file instead of ending at its end. */
  follow: boolean;
  /** Replay pace; as fast as possible when absent. */
  ratePerSecond?: number | undefined;
}

/** NDJSON lines as records; `offset` is the record ordinal (blank lines are not records). */
async function* ndjsonRecords(path: string, startByte: { value: number }): AsyncGenerator<string> {
  const stream = createReadStream(path, { start: startByte.value });
  let pending: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    let start = 0;
    for (let index = chunk.indexOf(10); index !== -1; index = chunk.indexOf(10, start)) {
      pending.push(chunk.subarray(start, index));
      const line = Buffer.concat(pending);
      pending = [];
      startByte.value += line.length + 1;
      start = index + 1;
      const text = line.toString('utf8').replace(/\r$/, '');
      if (text.trim() !== '') yield text;
    }
    pending.push(chunk.subarray(start));
  }
  // A last line without a newline is only complete once the file is not followed (see start()).
}

/** Replays an NDJSON or Avro file as a stream, optionally at a rate and following appends. */
export class FileReplaySource extends LocalSource {
  readonly #options: FileReplayOptions;
  #ended = false;

  constructor(options: FileReplayOptions) {
    super();
    const format = options.format ?? formatFromPath(options.path);
    if (format !== 'json' && format !== 'avro') {
      throw new ShadowdiffError(
        'SD_INPUT_FORMAT',
        `file sources of the service replay NDJSON or Avro, not ${format}: ${options.path}`,
      );
    }
    this.#options = { ...options, format };
  }

  async start(handler: RecordHandler, durable: DurablePositions): Promise<void> {
    try {
      await stat(this.#options.path);
    } catch (cause) {
      throw new ShadowdiffError(
        'SD_INPUT_UNREADABLE',
        `cannot read ${this.#options.path}: ${(cause as Error).message}`,
        { cause },
      );
    }
    this.running = true;
    const skipThrough = durable.get(this.#options.path) ?? 0;
    this.loop = this.#replay(handler, skipThrough);
  }

  async #replay(handler: RecordHandler, skipThrough: number): Promise<void> {
    const path = this.#options.path;
    let ordinal = 0;
    let batch: RawRecord[] = [];
    const started = Date.now();
    // A file read to its end with no \`time\` is one window, as in batch diffs: processing time would
    // put the same key of two sides in different windows whenever their reads straddle a boundary.
    // A followed file never ends, so its records take the time they are read.
    const recordTime = () => (this.#options.follow ? Date.now() : 0);
    const flush = async () => {
      if (batch.length === 0) return;
      const records = batch;
      batch = [];
      await handler(records, { heartbeat: async () => {} });
    };
    const emit = async (value: string | null, error?: string) => {
      ordinal++;
      if (ordinal <= skipThrough) return;
      while (this.paused && this.running) await sleep(50);
      const rate = this.#options.ratePerSecond;
      if (rate) {
        const dueAt = started + ((ordinal - skipThrough) * 1000) / rate;
        if (dueAt > Date.now()) {
          await flush();
          // The flush may have taken longer than the wait left: no negative delays.
          const wait = dueAt - Date.now();
          if (wait > 0) await sleep(wait);
        }
      }
      batch.push({
        partition: path,
        offset: ordinal,
        key: null,
        value,
        timestamp: recordTime(),
        ...(error ? { error } : {}),
      });
      if (batch.length >= BATCH) await flush();
    };
    if (this.#options.format === 'avro') {
      const file = await openAvroFile(path);
      for await (const record of file.records()) {
        if (!this.running) return;
        await emit(record.json, record.json === null ? (record.reason ?? 'malformed') : undefined);
      }
    } else {
      const offset = { value: 0 };
      for (;;) {
        for await (const text of ndjsonRecords(path, offset)) {
          if (!this.running) return;
          await emit(text);
        }
        await flush();
        if (!this.#options.follow || !this.running) break;
        await sleep(FOLLOW_POLL_MS);
        // Nothing appended yet: a stat costs less than opening the file to read nothing.
        while (this.running && (await stat(path)).size <= offset.value) await sleep(FOLLOW_POLL_MS);
      }
      if (!this.#options.follow) {
        // The last line may lack its newline: read what is left after the last one.
        const size = (await stat(path)).size;
        if (size > offset.value) {
          const tail = await readTail(path, offset.value);
          if (tail.trim() !== '') await emit(tail.replace(/\r$/, ''));
        }
      }
    }
    await flush();
    if (!this.#options.follow) this.#ended = true;
  }

  /** Resolves when the replay loop is done (end of file, or stopped); rejects with its error. */
  done(): Promise<void> {
    return this.loop ?? Promise.resolve();
  }

  hasEnded(): boolean {
    return this.#ended;
  }

  partitions(): string[] {
    return [this.#options.path];
  }
}

async function readTail(path: string, start: number): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of createReadStream(path, { start }) as AsyncIterable<Buffer>) parts.push(chunk);
  return Buffer.concat(parts).toString('utf8');
}
