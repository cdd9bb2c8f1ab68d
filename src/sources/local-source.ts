import type { DurablePositions, RecordHandler, RecordSource } from './source.js';

/**
 * What file replay and the simulator share: an in-process loop that delivers JSON texts, pauses
 * and stops on request, and commits nothing (their positions live in the checkpoint only).
 */
export abstract class LocalSource implements RecordSource {
  readonly decoded = true;
  protected running = false;
  protected paused = false;
  protected loop: Promise<void> | undefined;

  abstract start(handler: RecordHandler, durable: DurablePositions): Promise<void>;
  abstract hasEnded(): boolean;
  abstract partitions(): string[];

  async commit(): Promise<void> {}

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
  }

  isPaused(): boolean {
    return this.paused;
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop?.catch(() => {});
  }

  isConnected(): boolean {
    return this.running;
  }

  lastError(): string | null {
    return null;
  }

  backlog(): number | null {
    return null;
  }
}
