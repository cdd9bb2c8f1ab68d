import { loadConfig, parseComparison } from '../config/load.js';
import type { ComparisonConfig } from '../config/schema.js';
import { type BatchResult, runBatchDiff } from '../diff/batch.js';
import { ShadowdiffError } from '../errors.js';
import type { FileFormat } from '../sources/file.js';
import { progressBar } from './progress.js';
import { formatReport } from './report.js';

export interface DiffOptions {
  live: string;
  candidate: string;
  control?: string;
  config?: string;
  comparison?: string;
  key?: string;
  format?: FileFormat;
  csvEmptyQuotedIsString?: boolean;
  json?: boolean;
  samples: number;
}

const EXIT_CODES = { PASS: 0, FAIL: 1, INCONCLUSIVE: 2 } as const;

/** The comparison settings of a batch diff: from the config file when given, flags on top. */
export async function resolveComparison(options: DiffOptions): Promise<ComparisonConfig> {
  const keyFromFlag = options.key
    ?.split(',')
    .map((part) => part.trim())
    .filter(Boolean);
  const fromFlags = {
    ...(options.csvEmptyQuotedIsString ? { csv: { emptyQuotedIsString: true } } : {}),
    live: { file: { path: options.live } },
    candidate: { file: { path: options.candidate } },
    ...(options.control ? { control: { file: { path: options.control } } } : {}),
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
    return parseComparison({ ...found, ...fromFlags, ...(keyFromFlag ? { key: keyFromFlag } : {}) });
  }
  if (!keyFromFlag?.length) {
    throw new ShadowdiffError('SD_CLI_USAGE', '--key is required without --config (e.g. --key order_id)');
  }
  return parseComparison({ id: options.comparison ?? 'batch', ...fromFlags, key: keyFromFlag });
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
      { live: options.live, candidate: options.candidate, control: options.control, format: options.format },
      { samples: options.samples, ...(progress ? { stages: progress } : {}) },
    );
  } finally {
    progress?.stop();
  }
  io.stdout.write(options.json ? `${JSON.stringify(result)}\n` : formatReport(result, io.stdout.isTTY === true));
  return EXIT_CODES[result.verdict.verdict];
}
