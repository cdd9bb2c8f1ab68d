import { type PrepareOptions, RecordPreparer } from '../align/prepare.js';
import type { DurablePositions, PreparedHandler, PreparedSource, RecordSource, StartPositions } from './source.js';

/** A record source whose deliveries are prepared on this thread: files and the simulator, whose values are JSON texts already. */
export class PreparingSource implements PreparedSource {
  readonly #source: RecordSource;
  readonly #options: PrepareOptions;

  constructor(source: RecordSource, options: PrepareOptions) {
    this.#source = source;
    this.#options = options;
  }

  start(handler: PreparedHandler, start: StartPositions): Promise<void> {
    const preparer = new RecordPreparer(this.#options, start);
    return this.#source.start(
      async (records, control, gaps) => handler(await preparer.prepare(records, control, this.#source.decoded, gaps)),
      start.skipThrough,
    );
  }

  commit(positions: DurablePositions): Promise<void> {
    return this.#source.commit(positions);
  }

  pause(): void {
    this.#source.pause();
  }

  resume(): void {
    this.#source.resume();
  }

  isPaused(): boolean {
    return this.#source.isPaused();
  }

  stop(): Promise<void> {
    return this.#source.stop();
  }

  isConnected(): boolean {
    return this.#source.isConnected();
  }

  lastError(): string | null {
    return this.#source.lastError();
  }

  hasEnded(): boolean {
    return this.#source.hasEnded();
  }

  backlog(): number | null {
    return this.#source.backlog();
  }

  partitions(): string[] {
    return this.#source.partitions();
  }
}
