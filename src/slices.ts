import { setImmediate } from 'node:timers/promises';

/**
 * Cuts long synchronous work into slices of a few milliseconds, so the event loop answers
 * requests (gates polling the verdict) between them instead of after the whole of it.
 */
export class EventLoopSlices {
  readonly #sliceMs: number;
  #since = performance.now();

  constructor(sliceMs = 4) {
    this.#sliceMs = sliceMs;
  }

  /** Call between steps: at the end of a slice it lets the event loop run first. */
  async pause(): Promise<void> {
    if (performance.now() - this.#since < this.#sliceMs) return;
    await setImmediate();
    this.#since = performance.now();
  }
}
