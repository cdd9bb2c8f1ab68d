import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { DurablePositions, PreparedHandler, PreparedSource, StartPositions } from '../source.js';
import type {
  FromSourceThread,
  SourceState,
  SourceThreadData,
  SourceThreadSpec,
  ThreadError,
  ToSourceThread,
} from './protocol.js';
import { createTextRing, TextRingReader } from './text-ring.js';

/**
 * The worker runs compiled JavaScript. Under vitest these sources run as TypeScript, so the
 * thread runs the build that `npm test` makes first.
 */
const WORKER_URL = import.meta.url.endsWith('.ts')
  ? new URL('../../../dist/sources/thread/worker.js', import.meta.url)
  : new URL('./worker.js', import.meta.url);

/**
 * Room for a pending batch and the one being written (50k records of a few hundred bytes each);
 * packs that find no room travel in buffers of their own.
 */
const RING_BYTES = 32 * 2 ** 20;

type Request = ToSourceThread extends infer T ? (T extends { id: number } ? Omit<T, 'id'> : never) : never;

function toError(error: ThreadError): Error {
  return Object.assign(new Error(error.message), { name: error.name });
}

/**
 * A Kafka side consumed, decoded and packed on a thread of its own (`worker.ts`); its prepared
 * batches arrive here with their texts in shared memory (`text-ring.ts`) or transferred buffers,
 * so this thread does no work per record. The source's state (connected, backlog, partitions) is
 * pushed by the thread when it changes (looked at after every batch and every 250 ms), so reading
 * it never waits.
 */
export class ThreadedSource implements PreparedSource {
  readonly #spec: SourceThreadSpec;
  readonly #logger: Logger | undefined;
  readonly #onCrash: ((error: Error) => void) | undefined;
  readonly #replies = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
  #worker: Worker | undefined;
  #ring: TextRingReader | undefined;
  readonly #ringBytes: number;
  #requests = 0;
  #state: SourceState = { connected: false, error: null, ended: false, backlog: null, partitions: [] };
  #paused = false;
  #exited = false;

  constructor(
    spec: SourceThreadSpec,
    options: { logger?: Logger; onCrash?: (error: Error) => void; ringBytes?: number } = {},
  ) {
    this.#spec = spec;
    this.#ringBytes = options.ringBytes ?? RING_BYTES;
    this.#logger = options.logger;
    this.#onCrash = options.onCrash;
  }

  start(handler: PreparedHandler, start: StartPositions): Promise<void> {
    const ring = createTextRing(this.#ringBytes);
    this.#ring = new TextRingReader(ring);
    const data: SourceThreadData = { ...this.#spec, ring };
    // The thread's name shows in `top -H` and /proc, where the benchmarks find what it costs.
    const worker = new Worker(WORKER_URL, { workerData: data, name: `source ${this.#spec.source.topic}` });
    this.#worker = worker;
    worker.on('message', (message: FromSourceThread) => this.#receive(message, handler));
    worker.on('error', (error) => this.#lost(error));
    worker.on('exit', (code) => this.#lost(new Error(`source thread exited with code ${code}`)));
    return this.#request({
      type: 'start',
      skipThrough: [...start.skipThrough],
      countedThrough: [...start.countedThrough],
    });
  }

  #receive(message: FromSourceThread, handler: PreparedHandler): void {
    switch (message.type) {
      case 'reply': {
        const reply = this.#replies.get(message.id);
        this.#replies.delete(message.id);
        if (message.error) reply?.reject(toError(message.error));
        else reply?.resolve();
        return;
      }
      case 'batch':
        for (const partition of message.batch.partitions) {
          const { ring } = partition;
          if (!ring) continue;
          const reader = this.#ring as TextRingReader;
          partition.docs = reader.view(ring);
          partition.release = () => reader.release(ring);
        }
        handler(message.batch).then(
          () => this.#post({ type: 'handled', id: message.id }),
          (error: Error) => this.#post({ type: 'handled', id: message.id, error: error.message ?? String(error) }),
        );
        return;
      case 'state':
        this.#state = message.state;
        return;
      case 'crash':
        this.#onCrash?.(toError(message.error));
        return;
      case 'log':
        this.#log(message.line);
        return;
    }
  }

  /** A pino line from the thread, logged again here at its level (time and pid are this process's). */
  #log(line: string): void {
    if (!this.#logger) return;
    const { level, msg, time: _time, pid: _pid, hostname: _hostname, ...fields } = JSON.parse(line);
    const label = (this.#logger.levels.labels[level] ?? 'info') as 'info';
    this.#logger[label](fields, msg);
  }

  /** The thread is gone: every pending request fails, and the source is down for good. */
  #lost(error: Error): void {
    if (this.#exited) return;
    this.#exited = true;
    this.#state = { ...this.#state, connected: false, error: error.message };
    for (const reply of this.#replies.values()) reply.reject(error);
    this.#replies.clear();
    this.#onCrash?.(error);
  }

  #post(message: ToSourceThread): void {
    if (!this.#exited) this.#worker?.postMessage(message);
  }

  #request(request: Request): Promise<void> {
    if (this.#exited || !this.#worker) return Promise.reject(new Error('the source thread is not running'));
    const id = ++this.#requests;
    return new Promise((resolve, reject) => {
      this.#replies.set(id, { resolve, reject });
      this.#post({ ...request, id } as ToSourceThread);
    });
  }

  commit(positions: DurablePositions): Promise<void> {
    return this.#request({ type: 'commit', positions: [...positions] });
  }

  pause(): void {
    this.#paused = true;
    this.#post({ type: 'pause' });
  }

  resume(): void {
    this.#paused = false;
    this.#post({ type: 'resume' });
  }

  isPaused(): boolean {
    return this.#paused;
  }

  async stop(): Promise<void> {
    if (this.#exited || !this.#worker) return;
    try {
      await this.#request({ type: 'stop' });
    } finally {
      this.#exited = true;
      this.#state = { ...this.#state, connected: false };
      await this.#worker.terminate();
    }
  }

  isConnected(): boolean {
    return this.#state.connected;
  }

  lastError(): string | null {
    return this.#state.error;
  }

  hasEnded(): boolean {
    return this.#state.ended;
  }

  backlog(): number | null {
    return this.#state.backlog;
  }

  partitions(): string[] {
    return this.#state.partitions;
  }
}
