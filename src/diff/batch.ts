import { durationMs } from '../config/duration.js';
import type { ComparisonConfig } from '../config/schema.js';
import { type FileFormat, formatFromPath, loadFiles } from '../sources/file.js';
import { connect, openDatabase } from '../store/duckdb.js';
import { type FieldRates, noiseFields } from '../verdict/noise.js';
import { evaluateVerdict, type VerdictBody } from '../verdict/verdict.js';
import {
  type DiffSpec,
  type DiffStages,
  diffPair,
  type FieldStats,
  type PairResult,
  type SideInput,
} from './engine.js';
import { compileRules } from './rules.js';
import type { DiffSample } from './samples.js';

export interface BatchInputs {
  live: string;
  candidate: string;
  control?: string | undefined;
  /** Format of all inputs; inferred from each file's extension when absent. */
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
  /** Streaming only: records that arrived after their window closed. */
  lateLive?: number;
  lateCandidate?: number;
  /** Streaming only: records buffered in windows that are still open. */
  pendingLive?: number;
  pendingCandidate?: number;
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

export interface BatchResult {
  comparison: string;
  counts: BatchCounts;
  fields: BatchField[];
  noise?: FieldRates[];
  samples: DiffSample[];
  verdict: VerdictBody;
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

/** One-shot diff of files (SPEC §7): loads, diffs in DuckDB, and judges. */
export async function runBatchDiff(
  comparison: ComparisonConfig,
  inputs: BatchInputs,
  options: { samples: number; stages?: DiffStages; memoryLimit?: string; tempDirectory?: string },
): Promise<BatchResult> {
  const instance = await openDatabase({
    path: ':memory:',
    memoryLimit: options.memoryLimit ?? '1GB',
    ...(options.tempDirectory ? { tempDirectory: options.tempDirectory } : {}),
  });
  const connection = await connect(instance);
  try {
    const files = (
      [
        ['live', inputs.live],
        ['candidate', inputs.candidate],
        ['control', inputs.control],
      ] as const
    )
      .filter((entry): entry is ['live' | 'candidate' | 'control', string] => entry[1] !== undefined)
      .map(([side, path]) => ({ side, path, format: inputs.format ?? formatFromPath(path) }));
    const [live, candidate, control] = (await loadFiles(connection, files, comparison.csv)) as [
      SideInput,
      SideInput,
      SideInput?,
    ];
    const spec = diffSpecOf(comparison, options.samples);
    const main = await diffPair(connection, spec, live, candidate, options.stages);
    const controlResult = control ? await diffPair(connection, spec, live, control, options.stages) : undefined;

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
      fields,
      ...(noise ? { noise } : {}),
      samples,
      verdict,
    };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}
