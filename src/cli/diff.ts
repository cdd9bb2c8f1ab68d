import { loadConfig, parseComparison } from '../config/load.js';
import type { ComparisonConfig, Side } from '../config/schema.js';
import { type BatchResult, type BatchSource, runBatchDiff } from '../diff/batch.js';
import { describeScope } from '../diff/scope.js';
import { ShadowdiffError } from '../errors.js';
import type { FileFormat } from '../sources/file.js';
import { isPostgresUrl } from '../sources/postgres.js';
import { writeHtmlReport } from '../ui/report.js';
import { progressBar } from './progress.js';
import { formatReport } from './report.js';

export interface DiffOptions {
  /** A file, folder, glob or `postgres://` URL; from the comparison in the config when absent. */
  live?: string;
  candidate?: string;
  control?: string;
  config?: string;
  comparison?: string;
  key?: string;
  format?: FileFormat;
  csvEmptyQuotedIsString?: boolean;
  scopeField?: string;
  scopeIn?: string;
  scopeNotIn?: string;
  scopeKeyRange?: string;
  scopeCandidateOnly?: boolean;
  json?: boolean;
  /** Also write the diff explorer's page for this diff to this file. */
  html?: string;
  samples: number;
  /** Key sampling rate, over the config's `sampling.rate`. */
  sample?: number;
}

const EXIT_CODES = { PASS: 0, FAIL: 1, INCONCLUSIVE: 2 } as const;

const JSON_NUMBER = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$/;

/**
 * One value of `--scope-in`: a number when it reads as one (as YAML reads it), a string otherwise
 * or when quoted (`"7"`). A number JavaScript cannot hold exactly is refused rather than rounded.
 */
function scopeValue(text: string, flag: string): string | number {
  if (text.length >= 2 && text.startsWith('"') && text.endsWith('"')) return text.slice(1, -1);
  if (!JSON_NUMBER.test(text)) return text;
  const value = Number(text);
  if (!Number.isFinite(value) || (Number.isInteger(value) && !Number.isSafeInteger(value))) {
    throw new ShadowdiffError('SD_CLI_USAGE', `${flag}: ${text} is too large to hold exactly; quote it for a string`);
  }
  return value;
}

/** The scope the --scope-* flags give, or undefined without any: it replaces the config file's. */
function scopeFromFlags(options: DiffOptions): Record<string, unknown> | undefined {
  const values = (text: string | undefined, flag: string) =>
    text
      ?.split(',')
      .map((part) => part.trim())
      .filter(Boolean)
      .map((part) => scopeValue(part, flag));
  const scope: Record<string, unknown> = {
    ...(options.scopeField ? { field: options.scopeField } : {}),
    ...(options.scopeIn ? { in: values(options.scopeIn, '--scope-in') } : {}),
    ...(options.scopeNotIn ? { notIn: values(options.scopeNotIn, '--scope-not-in') } : {}),
    ...(options.scopeCandidateOnly ? { candidateOnly: true } : {}),
  };
  if (options.scopeKeyRange) {
    const range = options.scopeKeyRange.split(',').map((part) => Number(part.trim()));
    if (range.length !== 2 || range.some((bound) => Number.isNaN(bound))) {
      throw new ShadowdiffError(
        'SD_CLI_USAGE',
        `--scope-key-range: expected from,to between 0 and 1 (e.g. 0,0.1), got ${options.scopeKeyRange}`,
      );
    }
    scope.keyRange = range;
  }
  return Object.keys(scope).length > 0 ? scope : undefined;
}

/** The comparison settings of a batch diff: from the config file when given, flags on top. */
export async function resolveComparison(options: DiffOptions): Promise<ComparisonConfig> {
  const keyFromFlag = options.key
    ?.split(',')
    .map((part) => part.trim())
    .filter(Boolean);
  const source = (given: string) => (isPostgresUrl(given) ? { postgres: { url: given } } : { file: { path: given } });
  const scope = scopeFromFlags(options);
  const fromFlags = {
    ...(scope ? { scope } : {}),
    ...(options.csvEmptyQuotedIsString ? { csv: { emptyQuotedIsString: true } } : {}),
    ...(options.live ? { live: source(options.live) } : {}),
    ...(options.candidate ? { candidate: source(options.candidate) } : {}),
    ...(options.control ? { control: source(options.control) } : {}),
  };
  if (options.config) {
    const config = await loadConfig(options.config);
    const found = options.comparison
      ? config.comparisons.find((c) => c.id === options.comparison)
      : config.comparisons.length === 1
        ? config.comparisons[0]
        : undefined;
    if (!found) {
      const ids = config.comparisons.map((c) => c.id).join(', ') || 'none';
      throw new ShadowdiffError(
        'SD_CLI_USAGE',
        options.comparison
          ? `comparison ${options.comparison} is not in ${options.config} (has: ${ids})`
          : `${options.config} has several comparisons (${ids}); choose one with --comparison`,
      );
    }
    return parseComparison({
      ...found,
      ...fromFlags,
      ...(keyFromFlag ? { key: keyFromFlag } : {}),
      ...(options.sample !== undefined ? { sampling: { ...found.sampling, rate: options.sample } } : {}),
    });
  }
  if (!keyFromFlag?.length) {
    throw new ShadowdiffError('SD_CLI_USAGE', '--key is required without --config (e.g. --key order_id)');
  }
  if (!options.live || !options.candidate) {
    throw new ShadowdiffError('SD_CLI_USAGE', '--live and --candidate are required without --config');
  }
  return parseComparison({
    id: options.comparison ?? 'batch',
    ...fromFlags,
    key: keyFromFlag,
    ...(options.sample !== undefined ? { sampling: { rate: options.sample } } : {}),
  });
}

/** What a batch diff reads for one side of the comparison: a file, folder or glob, or PostgreSQL. */
function batchSource(comparison: ComparisonConfig, side: Side): BatchSource | undefined {
  const source = comparison[side];
  if (!source) return undefined;
  if ('file' in source) return source.file.path;
  if ('postgres' in source) return { postgres: source.postgres };
  throw new ShadowdiffError(
    'SD_CLI_USAGE',
    `the ${side} source of comparison ${comparison.id} is ${Object.keys(source)[0]}; a batch diff reads files or PostgreSQL: give --${side}`,
  );
}

/** What it means that every record of a side is invalid for `reason`, and where to look. */
function explainReason(
  reason: string,
  comparison: ComparisonConfig,
  options: DiffOptions,
): { what: string; hint: string; code: 'SD_CONFIG_INVALID' | 'SD_INPUT_UNREADABLE' } {
  const inConfig = `of comparison ${comparison.id} in ${options.config}`;
  switch (reason) {
    case 'missing_key': {
      const key = comparison.key.map((path) => JSON.stringify(path)).join(', ');
      return {
        what: comparison.key.length === 1 ? `lacks the key ${key}` : `lacks a part of the key ${key}`,
        hint: options.key || !options.config ? 'check --key' : `check key ${inConfig} (or --key)`,
        code: 'SD_CONFIG_INVALID',
      };
    }
    case 'missing_time': {
      const field = comparison.time && 'field' in comparison.time ? comparison.time.field : '';
      return {
        what: `lacks a readable event time in ${JSON.stringify(field)}`,
        hint: `check time.field ${inConfig}`,
        code: 'SD_CONFIG_INVALID',
      };
    }
    case 'malformed':
      return { what: 'is not a JSON object', hint: 'check the file and --format', code: 'SD_INPUT_UNREADABLE' };
    default:
      return { what: `failed to decode (${reason})`, hint: 'check the file and --format', code: 'SD_INPUT_UNREADABLE' };
  }
}

/**
 * A side with no valid record whose records are all invalid for one reason points at a wrong
 * setting (`--key`, `time.field`, `--format`), not at a bad candidate: an error (exit 3) naming
 * it, rather than an INCONCLUSIVE verdict over nothing. Mixed reasons stay counted as invalid.
 */
export function assertUsableSides(result: BatchResult, comparison: ComparisonConfig, options: DiffOptions): void {
  const { counts } = result;
  const outside = (counts.outOfScopeLive ?? 0) + (counts.outOfScopeCandidate ?? 0) + (counts.unexpectedCandidate ?? 0);
  // No record of either side in the slice points at the scope (a misspelt tenant), not at the data.
  if (counts.live === 0 && counts.candidate === 0 && outside > 0) {
    throw new ShadowdiffError(
      'SD_CONFIG_INVALID',
      `no record of either side is in the scope (${describeScope(comparison.scope)?.split(';')[0]}): ${counts.outOfScopeLive} live and ${outside - (counts.outOfScopeLive ?? 0)} candidate records are outside it; check the scope`,
    );
  }
  const valid: Record<string, number | undefined> = {
    live: result.counts.live,
    candidate: result.counts.candidate,
    control: result.counts.control,
  };
  const problems = Object.entries(result.invalidReasons).flatMap(([side, reasons]) => {
    const entries = Object.entries(reasons ?? {});
    const [only] = entries;
    if (valid[side] !== 0 || entries.length !== 1 || !only) return [];
    const [reason, count] = only;
    return [{ side, count, ...explainReason(reason, comparison, options) }];
  });
  const [first] = problems;
  if (!first) return;
  const sentences = problems.map(
    ({ side, what, count }) => `every ${side} record ${what} (${count} of ${count} invalid)`,
  );
  const hints = [...new Set(problems.map((problem) => problem.hint))];
  throw new ShadowdiffError(first.code, `${[...sentences, ...hints].join('; ')}`);
}

/** `shadowdiff diff`: returns the exit code (0 PASS, 1 FAIL, 2 INCONCLUSIVE). */
export async function runDiffCommand(
  options: DiffOptions,
  io: { stdout: NodeJS.WriteStream; stderr: NodeJS.WriteStream } = process,
): Promise<number> {
  const comparison = await resolveComparison(options);
  const showProgress = !options.json && io.stderr.isTTY === true;
  const progress = showProgress ? progressBar(io.stderr) : undefined;
  let result: BatchResult;
  try {
    result = await runBatchDiff(
      comparison,
      {
        live: batchSource(comparison, 'live') as BatchSource,
        candidate: batchSource(comparison, 'candidate') as BatchSource,
        control: batchSource(comparison, 'control'),
        format: options.format,
      },
      { samples: options.samples, windows: Boolean(options.html), ...(progress ? { stages: progress } : {}) },
    );
  } finally {
    progress?.stop();
  }
  assertUsableSides(result, comparison, options);
  if (options.html) await writeHtmlReport(options.html, result, comparison);
  // The windows are the report's; --json prints the batch output as without --html.
  const { windows: _reportOnly, ...output } = result;
  io.stdout.write(options.json ? `${JSON.stringify(output)}\n` : formatReport(result, io.stdout.isTTY === true));
  return EXIT_CODES[result.verdict.verdict];
}
