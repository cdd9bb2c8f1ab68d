/**
 * Orders a comparison's buffer writes. Batches of the sides are buffered together (`shared`); a
 * reset, and a window diff while the closer is far behind, run alone (`exclusive`): after every
 * write in flight, and before any that comes later.
 */
export class WriteQueue {
  #queue: Promise<unknown> = Promise.resolve();
  readonly #writing = new Set<Promise<unknown>>();

  exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = Promise.all([this.#queue, ...this.#writing]).then(work, work);
    this.#queue = run.catch(() => {});
    return run;
  }

  shared<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(work, work);
    const tracked = run.catch(() => {});
    this.#writing.add(tracked);
    void tracked.then(() => this.#writing.delete(tracked));
    return run;
  }

  /** Resolves once the shared writes in flight now are done. */
  inFlight(): Promise<unknown> {
    return Promise.all(this.#writing);
  }

  /** Resolves once every write queued so far is done, failed or not. */
  async settle(): Promise<void> {
    await Promise.all([this.#queue, ...this.#writing]).catch(() => {});
  }
}
