import type { DuckDBConnection } from '@duckdb/node-api';
import type { ComparisonConfig } from '../config/schema.js';
import type { DiffSpec } from '../diff/engine.js';
import { redactor } from '../diff/redact.js';
import type { SampleOutcome } from '../diff/samples.js';
import { describeScope } from '../diff/scope.js';
import type { Checkpoint } from './checkpoint.js';
import type { NoiseFilter, Summary } from './contracts.js';
import { epochResults, type NoiseOptions, storedSample, storedSamples, windowPage } from './results.js';

/** What a runner's answers read besides storage: its current epoch and its live state. */
export interface AnswerSources {
  config: ComparisonConfig;
  spec: DiffSpec;
  noise: NoiseOptions;
  windowMs: number;
  checkpoint: Checkpoint;
  epoch(): number;
  openWindows(): number;
  watermarks(): Summary['watermarks'];
}

/** A comparison's summary, windows and samples, read from storage on a connection of their own. */
export class StoredAnswers {
  readonly #read: DuckDBConnection;
  readonly #sources: AnswerSources;

  constructor(read: DuckDBConnection, sources: AnswerSources) {
    this.#read = read;
    this.#sources = sources;
  }

  async summary(): Promise<Summary> {
    const { config, noise, checkpoint } = this.#sources;
    const epoch = this.#sources.epoch();
    const results = await checkpoint.readCounts(epoch, (pending) =>
      epochResults(this.#read, config.id, epoch, noise, pending),
    );
    const scope = describeScope(config.scope);
    return {
      comparison: config.id,
      ...(scope ? { scope } : {}),
      counts: results.counts,
      fields: results.fields,
      ...(results.noise ? { noise: results.noise } : {}),
      windows: { open: this.#sources.openWindows(), closed: results.closedWindows },
      watermarks: this.#sources.watermarks(),
    };
  }

  windows(page: { limit: number; offset: number }) {
    const { config, noise, windowMs } = this.#sources;
    return windowPage(this.#read, config.id, this.#sources.epoch(), windowMs, noise, config.verdict, page);
  }

  samples(filter: { field?: string; outcome?: SampleOutcome; noise?: NoiseFilter; limit: number }) {
    const { config, noise } = this.#sources;
    return storedSamples(this.#read, config.id, this.#sources.epoch(), noise, filter, this.#redact());
  }

  sample(id: string) {
    return storedSample(this.#read, this.#sources.config.id, this.#sources.epoch(), id, this.#redact());
  }

  #redact() {
    return redactor(this.#sources.spec.redact, this.#sources.spec.key);
  }
}
