import { durationMs } from '../config/duration.js';
import type { ComparisonConfig, Side } from '../config/schema.js';
import { type FileFormat, loadFiles } from '../sources/file.js';
import { isPostgresUrl, loadPostgres, type PostgresInput } from '../sources/postgres.js';
import { connect, openDatabase } from '../store/duckdb.js';
import { type FieldRates, noiseFields } from '../verdict/noise.js';
import { evaluateVerdict, type VerdictBody } from '../verdict/verdict.js';
import {
  type DiffSpec,
  type DiffStages,
  type DiffTuning,
  diffPair,
  type FieldStats,
  type PairResult,
  type SideInput,
} from './engine.js';
import { compileRules } from './rules.js';
import type { DiffSample } from './samples.js';
import { outsideStatus, scopeOfVerdict } from './scope.js';
import { type BatchWindow, windowBand } from './window-band.js';

/** A file, folder or glob, a `postgres://` URL, or a PostgreSQL table or query from the config. */
export type BatchSource = string | { postgres: PostgresInput };

export interface BatchInputs {
  live: BatchSource;
  candidate: BatchSource;
  control?: BatchSource | undefined;
  /** Format of all inputs; inferred from each file's extension when absent. Inputs may be files, folders or globs. */
  format?: FileFormat | undefined;
}

export interface BatchCounts {
  live: number;
  candidate: number;
  equal: number;
  different: number;
  missing: number;
  extra: number;
  duplicateLive: number;
  duplicateCandidate: number;
  invalidLive: number;
  invalidCandidate: number;
  sampledOutLive: number;
  sampledOutCandidate: number;
  /**
   * With a scope: valid records outside it, per side (not in `live`/`candidate`/`control`, never
   * missing or extra), and the candidate's records outside it when it is held to it (`candidateOnly`).
   */
  outOfScopeLive?: number;
  outOfScopeCandidate?: number;
  outOfScopeControl?: number;
  unexpectedCandidate?: number;
  /** Streaming only: records that arrived after their window closed. */
  lateLive?: number;
  lateCandidate?: number;
  /** Streaming only: records buffered in windows that are still open. */
  pendingLive?: number;
  pendingCandidate?: number;
  /** Streaming only: records the source log no longer had when they were needed (retention deleted them). */
  lostLive?: number;
  lostCandidate?: number;
  lostControl?: number;
  /**
   * Streaming in cluster mode only: records compared (their outcome counts) whose key came on
   * another partition number on another side: not co-partitioned (docs/SCALING.md).
   */
  misroutedLive?: number;
  misroutedCandidate?: number;
  misroutedControl?: number;
  control?: number;
  invalidControl?: number;
  duplicateControl?: number;
  sampledOutControl?: number;
  /** Records that differ only in noise fields; counted as equal. */
  noiseOnly?: number;
}

export interface BatchField extends FieldStats {
  noise?: boolean;
}

/** Invalid records by side and reason (`missing_key`, `missing_time`, `malformed`, or a decoder's reason). */
export type InvalidReasons = Partial<Record<Side, Record<string, number>>>;

export interface BatchResult {
  comparison: string;
  counts: BatchCounts;
  invalidReasons: InvalidReasons;
  fields: BatchField[];
  noise?: FieldRates[];
  samples: DiffSample[];
  verdict: VerdictBody;
  /** With `options.windows` and an event time: per window, newest first, for the HTML report's band. */
  windows?: BatchWindow[];
}

export function diffSpecOf(comparison: ComparisonConfig, samplesPerGroup: number): DiffSpec {
  return {
    key: comparison.key,
    time: comparison.time,
    windowMs: durationMs(comparison.window.size),
    duplicates: comparison.duplicates,
    keyAsText: comparison.keyAsText,
    rules: compileRules(comparison.compare),
    samplingRate: comparison.sampling.rate,
    scope: comparison.scope,
    redact: comparison.redact,
    samplesPerGroup,
  };
}

/** Rows that differ only in noise fields are equal for the verdict. */
function discountNoise(result: PairResult, noise: ReadonlySet<string>): number {
  if (noise.size === 0) return 0;
  return result.differingRows.filter((fields) => fields.every((field) => noise.has(field))).length;
}

const compared = (result: PairResult) => result.equal + result.different;

/** Per side, the records outside the scope: the candidate's are unexpected when it is held to the scope. */
function scopeCounts(
  comparison: ComparisonConfig,
  main: PairResult,
  control: PairResult | undefined,
): Partial<BatchCounts> {
  const unexpected = outsideStatus(comparison.scope, 'candidate') === 'unexpected';
  return {
    outOfScopeLive: main.live.outOfScope,
    outOfScopeCandidate: unexpected ? 0 : main.other.outOfScope,
    unexpectedCandidate: unexpected ? main.other.outOfScope : 0,
    ...(control ? { outOfScopeControl: control.other.outOfScope } : {}),
  };
}

/** Stages the engine announces per pair; each is an equal share of that pair's part of the bar. */
const STAGES_PER_PAIR = 7;

/**
 * Turns the engine's stages into one bar over the whole run (loading, then each pair): the bar
 * moves at every stage even when DuckDB has no estimate for a short query, and never goes back.
 */
class RunProgress {
  readonly #stages: DiffStages | undefined;
  readonly #steps: number;
  #done = 0;
  #shown = 0;

  constructor(stages: DiffStages | undefined, pairs: number) {
    this.#stages = stages;
    this.#steps = 1 + pairs * STAGES_PER_PAIR;
  }

  #report(fraction: number): void {
    const overall = Math.min(1, (this.#done + Math.min(1, Math.max(0, fraction))) / this.#steps);
    if (overall <= this.#shown) return;
    this.#shown = overall;
    this.#stages?.onProgress?.(overall);
  }

  loading(): void {
    this.#stages?.onStage?.('loading files');
  }

  /** Stages of the pair `index` (0-based), labelled with the sides it compares. */
  pair(index: number, label: string): DiffStages {
    const start = 1 + index * STAGES_PER_PAIR;
    const end = start + STAGES_PER_PAIR;
    let started = false;
    this.#done = start;
    this.#report(0);
    return {
      onStage: (stage) => {
        if (started) this.#done = Math.min(end - 1, this.#done + 1);
        started = true;
        this.#stages?.onStage?.(`${label}: ${stage}`);
        this.#report(0);
      },
      onProgress: (fraction) => this.#report(fraction),
    };
  }
}

/** One-shot diff of files (SPEC §7): loads, diffs in DuckDB, and judges. */
export async function runBatchDiff(
  comparison: ComparisonConfig,
  inputs: BatchInputs,
  options: {
    samples: number;
    stages?: DiffStages;
    memoryLimit?: string;
    tempDirectory?: string;
    /** Also the per-window outcomes and band (the HTML report draws them). */
    windows?: boolean;
    tuning?: DiffTuning;
  },
): Promise<BatchResult> {
  const instance = await openDatabase({
    path: ':memory:',
    memoryLimit: options.memoryLimit ?? '1GB',
    ...(options.tempDirectory ? { tempDirectory: options.tempDirectory } : {}),
  });
  const connection = await connect(instance);
  const progress = new RunProgress(options.stages, inputs.control ? 2 : 1);
  try {
    if (options.stages?.onProgress) {
      // DuckDB tracks a query's progress only with its progress bar on, by default only after 2 s of
      // a query; it must not print its own bar.
      await connection.run(
        'SET enable_progress_bar = true; SET enable_progress_bar_print = false; SET progress_bar_time = 0',
      );
    }
    progress.loading();
    const sides = (
      [
        ['live', inputs.live],
        ['candidate', inputs.candidate],
        ['control', inputs.control],
      ] as const
    ).filter((entry): entry is [Side, BatchSource] => entry[1] !== undefined);
    const files = sides.flatMap(([side, source]) =>
      typeof source === 'string' && !isPostgresUrl(source) ? [{ side, path: source, format: inputs.format }] : [],
    );
    const loaded = new Map((await loadFiles(connection, files, comparison.csv)).map((input) => [input.side, input]));
    for (const [side, source] of sides) {
      if (loaded.has(side)) continue;
      const postgres = typeof source === 'string' ? { url: source } : source.postgres;
      loaded.set(side, await loadPostgres(connection, side, postgres));
    }
    const [live, candidate, control] = [loaded.get('live'), loaded.get('candidate'), loaded.get('control')] as [
      SideInput,
      SideInput,
      SideInput?,
    ];
    const spec = diffSpecOf(comparison, options.samples);
    const main = await diffPair(
      connection,
      spec,
      live,
      candidate,
      progress.pair(0, 'live vs candidate'),
      options.tuning,
    );
    const controlResult = control
      ? await diffPair(connection, spec, live, control, progress.pair(1, 'live vs control'), options.tuning)
      : undefined;

    let noise: FieldRates[] | undefined;
    let noiseOnly = 0;
    if (controlResult) {
      const fieldsOf = (r: PairResult) => new Map(r.fields.map((f) => [f.path, f.different]));
      noise = noiseFields(
        { compared: compared(main), fields: fieldsOf(main) },
        { compared: compared(controlResult), fields: fieldsOf(controlResult) },
        comparison.verdict.alpha,
      );
      noiseOnly = discountNoise(main, new Set(noise.map((n) => n.path)));
    }
    const noisePaths = new Set(noise?.map((n) => n.path));
    const counts: BatchCounts = {
      live: main.live.valid,
      candidate: main.other.valid,
      equal: main.equal + noiseOnly,
      different: main.different - noiseOnly,
      missing: main.missing,
      extra: main.extra,
      duplicateLive: main.live.duplicates,
      duplicateCandidate: main.other.duplicates,
      invalidLive: main.live.invalid,
      invalidCandidate: main.other.invalid,
      sampledOutLive: main.live.sampledOut,
      sampledOutCandidate: main.other.sampledOut,
      ...(comparison.scope ? scopeCounts(comparison, main, controlResult) : {}),
      ...(controlResult
        ? {
            control: controlResult.other.valid,
            invalidControl: controlResult.other.invalid,
            duplicateControl: controlResult.other.duplicates,
            sampledOutControl: controlResult.other.sampledOut,
            noiseOnly,
          }
        : {}),
    };
    const fields: BatchField[] = main.fields.map((field) =>
      noisePaths.has(field.path) ? { ...field, noise: true } : field,
    );
    const verdict = evaluateVerdict({
      comparison: comparison.id,
      policy: comparison.verdict,
      counts,
      fieldDifferences: Object.fromEntries(
        main.fields.filter((f) => !noisePaths.has(f.path)).map((f) => [f.path, f.different]),
      ),
      complete: true,
      samplingRate: comparison.sampling.rate,
      ...scopeOfVerdict(comparison.scope, counts),
    });
    // Real differences first: a noise field differs on almost every record and would crowd them out.
    const isNoise = (sample: DiffSample) => sample.field !== undefined && noisePaths.has(sample.field);
    const samples = [
      ...main.samples.filter((sample) => !isNoise(sample)),
      ...main.samples.filter(isNoise).map((sample) => ({ ...sample, noise: true })),
    ];
    return {
      comparison: comparison.id,
      counts,
      invalidReasons: {
        live: main.live.invalidReasons,
        candidate: main.other.invalidReasons,
        ...(controlResult ? { control: controlResult.other.invalidReasons } : {}),
      },
      fields,
      ...(noise ? { noise } : {}),
      samples,
      verdict,
      ...(options.windows && comparison.time
        ? { windows: windowBand(main.windows, spec.windowMs, noisePaths, comparison.verdict) }
        : {}),
    };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}
