import { mkdir } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { dirname } from 'node:path';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import type { PrepareOptions } from '../align/prepare.js';
import { checkClusterSources, instanceIdOf } from '../config/cluster.js';
import { durationMs } from '../config/duration.js';
import { checkRetention, parseComparison } from '../config/load.js';
import type { ComparisonConfig, Config, ScopeConfig, Side } from '../config/schema.js';
import { sameScope } from '../diff/scope.js';
import { ShadowdiffError } from '../errors.js';
import { ShadowdiffMetrics } from '../metrics/metrics.js';
import { FileReplaySource } from '../sources/file-replay.js';
import { verifyCoPartitioned } from '../sources/kafka/co-partitioning.js';
import { PreparingSource } from '../sources/preparing.js';
import { SimulateSource } from '../sources/simulate.js';
import type { PreparedSource } from '../sources/source.js';
import { ThreadedSource } from '../sources/thread/threaded-source.js';
import { connect, openDatabase, queryRows } from '../store/duckdb.js';
import { applyRetention } from '../store/retention.js';
import { COMPARISON_TABLES, createSchema } from '../store/schema.js';
import { ComparisonRunner } from './comparison.js';
import { deleteComparisonState, dropBuffer } from './comparison-store.js';
import type { ComparisonRegistry, Readiness } from './contracts.js';

const RETENTION_INTERVAL_MS = 60_000;
/**
 * DuckDB's threads: one fewer than the cores, leaving one to the event loop (gate polls) and the
 * source threads. On two cores, ingest ran ~30% faster with one DuckDB thread than with two
 * (BENCHMARKS.md).
 */
export function storageThreads(storage: Config['storage'], cores = availableParallelism()): number {
  return storage.threads ?? Math.max(1, cores - 1);
}

/**
 * The long-running service: one DuckDB file, one metrics registry, and a runner per comparison,
 * from the config file and from `POST /v1/comparisons` (kept in storage across restarts).
 */
export class Service implements ComparisonRegistry {
  readonly metrics: ShadowdiffMetrics;
  readonly promRegistry: Registry;
  readonly #config: Config;
  readonly #logger: Logger;
  readonly #instance: DuckDBInstance;
  readonly #maintenance: DuckDBConnection;
  readonly #runners = new Map<string, ComparisonRunner>();
  /** Comparisons whose runner restarts under a new scope: no other change to them meanwhile. */
  readonly #changing = new Set<string>();
  #retentionTimer: NodeJS.Timeout | undefined;
  #storageOpen = true;
  #stopping = false;

  private constructor(config: Config, logger: Logger, instance: DuckDBInstance, maintenance: DuckDBConnection) {
    this.#config = config;
    this.#logger = logger;
    this.#instance = instance;
    this.#maintenance = maintenance;
    this.promRegistry = new Registry();
    this.metrics = new ShadowdiffMetrics(this.promRegistry, { maxFieldLabels: config.metrics.maxFieldLabels });
  }

  /** Opens storage and starts every comparison; one that fails to start stops the others and storage. */
  static async start(config: Config, logger: Logger): Promise<Service> {
    const { path, memoryLimit } = config.storage;
    if (path !== ':memory:') await mkdir(dirname(path), { recursive: true });
    let instance: DuckDBInstance;
    try {
      instance = await openDatabase({ path, memoryLimit, threads: storageThreads(config.storage) });
    } catch (cause) {
      throw new ShadowdiffError('SD_STORAGE', `cannot open storage ${path}: ${(cause as Error).message}`, { cause });
    }
    const maintenance = await connect(instance);
    await createSchema(maintenance);
    if (config.cluster.enabled) {
      logger.warn(
        { instanceId: instanceIdOf(config.cluster), resultsTopic: config.cluster.resultsTopic },
        'cluster mode checks that comparisons are co-partitioned and counts misrouted keys; it does not split comparisons over instances yet: run one instance per comparison (docs/SCALING.md)',
      );
    }
    const service = new Service(config, logger, instance, maintenance);
    try {
      await service.#launchAll();
    } catch (error) {
      await service.stop();
      throw error;
    }
    service.#retentionTimer = setInterval(() => void service.#retain(), RETENTION_INTERVAL_MS);
    return service;
  }

  /**
   * Starts the comparisons of the config, and those created through the API before (kept in
   * storage), side by side: a source that cannot connect yet holds up none of them (it keeps
   * trying on its own). All have settled before a failure is reported, so stopping the service
   * then stops every one that started (they kept the process alive before).
   */
  async #launchAll(): Promise<void> {
    const fromConfig = new Set(this.#config.comparisons.map((c) => c.id));
    const stored = await queryRows<{ id: string; config: string }>(
      this.#maintenance,
      'SELECT id, config::VARCHAR AS config FROM comparisons',
    );
    const created = stored
      .filter((row) => !fromConfig.has(row.id))
      .map((row) => parseComparison(JSON.parse(row.config), `stored comparison ${row.id}`));
    const launched = await Promise.allSettled(
      [...this.#config.comparisons, ...created].map((comparison) => this.#launch(comparison)),
    );
    const failed = launched.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
  }

  #createSource(side: Side, comparison: ComparisonConfig, anchorMs: number, prepare: PrepareOptions): PreparedSource {
    const source = comparison[side];
    if (!source) throw new ShadowdiffError('SD_CONFIG_INVALID', `comparison ${comparison.id} has no ${side} source`);
    if ('kafka' in source) {
      return new ThreadedSource(
        {
          connection: this.#config.kafka,
          source: {
            topic: source.kafka.topic,
            groupId: source.kafka.groupId ?? `shadowdiff.${comparison.id}.${side}`,
            fromBeginning: source.kafka.fromBeginning,
            neededMs: durationMs(comparison.window.size) + durationMs(comparison.window.allowedLateness),
          },
          decode: {
            format: comparison.format,
            schema: comparison.schema,
            maxMessageBytes: comparison.maxMessageBytes,
            registryUrl: this.#config.schemaRegistry.url,
          },
          prepare,
          logLevel: this.#logger.level,
        },
        {
          logger: this.#logger,
          onCrash: (error) =>
            this.#logger.warn({ err: error, comparison: comparison.id, side }, 'kafka consumer crashed'),
        },
      );
    }
    if ('file' in source) return new PreparingSource(new FileReplaySource(source.file), prepare);
    if ('postgres' in source) {
      throw new ShadowdiffError(
        'SD_CONFIG_INVALID',
        `comparison ${comparison.id}: a postgres ${side} source is read by \`shadowdiff diff\`, not by the service`,
      );
    }
    return new PreparingSource(new SimulateSource(source.simulate, side, anchorMs), prepare);
  }

  async #launch(comparison: ComparisonConfig): Promise<ComparisonRunner> {
    if (this.#config.cluster.enabled) {
      // Comparisons of the config file were checked with their path; those created over HTTP, now or before, here.
      checkClusterSources(comparison, '');
      await this.#checkCoPartitioned(comparison);
    }
    const runner = new ComparisonRunner(comparison, {
      instance: this.#instance,
      metrics: this.metrics,
      logger: this.#logger,
      retentionMs: durationMs(this.#config.storage.retention),
      cluster: this.#config.cluster.enabled,
      createSource: (side, config, anchor, prepare) => this.#createSource(side, config, anchor, prepare),
    });
    this.#runners.set(comparison.id, runner);
    try {
      await runner.start();
    } catch (error) {
      this.#runners.delete(comparison.id);
      await runner.stop().catch(() => {});
      this.metrics.removeComparison(comparison.id);
      throw error;
    }
    this.#logger.info({ comparison: comparison.id }, 'comparison started');
    return runner;
  }

  /**
   * Cluster mode pairs partition p of every side on one instance, so a comparison whose topics
   * differ in partition count cannot start. Read from the broker at start: an instance in cluster
   * mode needs it then (a source alone would wait for it in the background).
   */
  async #checkCoPartitioned(comparison: ComparisonConfig): Promise<void> {
    // Loaded here: outside cluster mode kafkajs runs only on the source threads, never on the main one.
    const { createKafkajsClient } = await import('../sources/kafka/kafkajs-client.js');
    const admin = await createKafkajsClient(this.#config.kafka, this.#logger)
      .connectAdmin()
      .catch((cause: Error) => {
        throw new ShadowdiffError(
          'SD_CLUSTER_PARTITIONS',
          `comparison ${comparison.id}: cannot reach Kafka to read the partition counts of its topics (cluster mode checks them at start): ${cause.message}`,
          { cause, canRetry: true },
        );
      });
    try {
      await verifyCoPartitioned(admin, comparison);
    } finally {
      await admin.disconnect().catch(() => {});
    }
  }

  async #retain(): Promise<void> {
    try {
      await applyRetention(this.#maintenance, durationMs(this.#config.storage.retention));
    } catch (error) {
      this.#logger.warn({ err: error }, 'retention failed');
    }
  }

  list(): ComparisonRunner[] {
    return [...this.#runners.values()];
  }

  get(id: string): ComparisonRunner | undefined {
    return this.#runners.get(id);
  }

  async create(config: ComparisonConfig): Promise<ComparisonRunner> {
    if (this.#runners.has(config.id)) {
      throw new ShadowdiffError('SD_API_CONFLICT', `comparison ${config.id} exists already`);
    }
    checkRetention(config, this.#config.storage.retention, `comparison ${config.id}`);
    return this.#launch(config);
  }

  /**
   * Gives a running comparison a new scope (null: none): its runner stops, storing a last
   * checkpoint, and a new one starts from it under the new scope, which begins a new epoch
   * (`restoreComparison`). Returns the new runner, the same one when the scope is the same, or
   * undefined for an unknown id; a scope the comparison cannot have throws SD_CONFIG_INVALID.
   */
  async changeScope(id: string, scope: ScopeConfig | null): Promise<ComparisonRunner | undefined> {
    const runner = this.#runners.get(id);
    if (!runner) return undefined;
    this.#notChanging(id);
    this.#changing.add(id);
    try {
      const { scope: _old, ...rest } = runner.config;
      // Checked with the comparison: partitions apply to Kafka sides only, per side to each side it has.
      const config = parseComparison(scope === null ? rest : { ...rest, scope });
      if (sameScope(runner.config.scope, config.scope)) return runner;
      // The stopped runner answers (its last verdict) until the new one takes its place. Its series
      // go on: the counters count records across epochs, as after a reset.
      await runner.stop();
      await dropBuffer(this.#maintenance, id);
      try {
        return await this.#launch(config);
      } catch (error) {
        // Keep the comparison running under the scope it had (itself a scope change, a new epoch).
        this.#logger.error({ err: error, comparison: id }, 'comparison did not start under its new scope');
        await this.#launch(runner.config).catch(() => {});
        throw error;
      }
    } finally {
      this.#changing.delete(id);
    }
  }

  /** Throws SD_API_CONFLICT while the comparison's runner restarts under a new scope. */
  #notChanging(id: string): void {
    if (this.#changing.has(id)) {
      throw new ShadowdiffError('SD_API_CONFLICT', `comparison ${id} is being changed; try again once that is done`);
    }
  }

  async delete(id: string): Promise<boolean> {
    this.#notChanging(id);
    const runner = this.#runners.get(id);
    if (!runner) return false;
    this.#runners.delete(id);
    await runner.stop();
    this.metrics.removeComparison(id);
    await deleteComparisonState(this.#instance, id, COMPARISON_TABLES);
    this.#logger.info({ comparison: id }, 'comparison deleted');
    return true;
  }

  readiness(): Readiness {
    const reasons: string[] = [];
    if (this.#stopping) reasons.push('shutting down');
    if (!this.#storageOpen) reasons.push('storage is closed');
    for (const runner of this.#runners.values()) {
      const runtime = runner.runtime();
      // A connecting comparison's reasons are its sources'.
      if (runtime.state !== 'running' && runtime.state !== 'connecting')
        reasons.push(`${runner.id}: ${runtime.state}${runtime.error ? ` (${runtime.error})` : ''}`);
      for (const [side, state] of Object.entries(runtime.sides)) {
        if (!state.connected && !state.endOfInput)
          reasons.push(`${runner.id}: ${side} source not connected${state.error ? ` (${state.error})` : ''}`);
      }
    }
    return { ready: reasons.length === 0, reasons };
  }

  /** Readiness answers 503 from now on: load balancers and gates stop relying on this instance. */
  beginShutdown(): void {
    this.#stopping = true;
  }

  /** Graceful stop: every runner stops consuming and finishes the batch in flight, then storage closes. */
  async stop(): Promise<void> {
    this.#stopping = true;
    clearInterval(this.#retentionTimer);
    await Promise.all([...this.#runners.values()].map((runner) => runner.stop()));
    this.#storageOpen = false;
    this.#maintenance.closeSync();
    this.#instance.closeSync();
  }
}
