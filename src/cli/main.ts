#!/usr/bin/env node
import './threadpool.js';
import { Command, InvalidArgumentError, Option } from 'commander';
import { isShadowdiffError } from '../errors.js';
import { runDiffCommand } from './diff.js';
import { runGate } from './gate.js';

function positiveInteger(text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) throw new InvalidArgumentError('expected a whole number ≥ 0');
  return value;
}

function samplingRate(text: string): number {
  const value = Number(text);
  if (!(value > 0 && value <= 1)) throw new InvalidArgumentError('expected a rate above 0 and at most 1, e.g. 0.01');
  return value;
}

/** Runs the CLI and returns the process exit code; errors become exit 3 with a one-line message. */
export async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  const program = new Command()
    .name('shadowdiff')
    .description('Decides whether a dark-launched pipeline may replace the live one.')
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(text) });

  program
    .command('serve')
    .description('run the service: consume, align, diff, and serve the verdict and metrics')
    .option('--config <path>', 'config file', 'config/shadowdiff.yaml')
    .action(async (options) => {
      // Imported when used: the service's modules (Fastify, Kafka, the UI) cost a one-shot diff 0.6 s of CPU to load.
      const { runServe } = await import('./serve.js');
      exitCode = await runServe(options);
    });

  program
    .command('diff')
    .description('one-shot diff of two datasets (NDJSON, CSV, Parquet, Avro)')
    .option('--live <path>', 'output of the live version: a file, folder, glob or postgres:// URL (or from --config)')
    .option('--candidate <path>', 'output of the candidate version: a file, folder, glob or postgres:// URL')
    .option('--control <path>', 'a second run of the live version, the noise baseline')
    .option('--config <path>', 'config file with the comparison settings')
    .option('--comparison <id>', 'comparison of the config file to use')
    .option('--key <fields>', 'key field paths, comma-separated (e.g. order_id or region,id)')
    .addOption(
      new Option('--format <format>', 'input format (default: from the file extension)').choices([
        'json',
        'csv',
        'parquet',
        'avro',
      ]),
    )
    .option(
      '--scope-field <path>',
      'judge only records whose field (path) has one of --scope-in (or none of --scope-not-in)',
    )
    .option(
      '--scope-in <values>',
      'the values of the slice, comma-separated (a number is a number; "7" in quotes a string)',
    )
    .option('--scope-not-in <values>', 'the values outside the slice, comma-separated')
    .option(
      '--scope-key-range <from,to>',
      'judge only keys whose hash falls in [from, to) of the hash space (e.g. 0,0.1)',
    )
    .option('--scope-candidate-only', 'the candidate ran on the slice only: its records outside it are unexpected')
    .option('--csv-empty-quoted-is-string', 'CSV: "" is an empty string, only an empty unquoted field is null')
    .option('--json', 'print one JSON document instead of the report')
    .option('--html <path>', 'also write the report as one HTML page that opens offline (the diff explorer)')
    .option('--samples <n>', 'examples kept per field and outcome', positiveInteger, 5)
    .option('--sample <rate>', 'diff only the keys a stable key hash samples at this rate (e.g. 0.01)', samplingRate)
    .action(async (options) => {
      exitCode = await runDiffCommand(options);
    });

  program
    .command('gate')
    .description('poll a verdict URL until PASS (exit 0) or FAIL (exit 1); INCONCLUSIVE at the timeout exits 2')
    .requiredOption('--url <url>', 'verdict URL, e.g. http://shadowdiff:8080/v1/comparisons/orders-v2/verdict')
    .option('--timeout <duration>', 'give up after', '30m')
    .option('--interval <duration>', 'time between polls', '30s')
    .action(async (options) => {
      exitCode = await runGate(options);
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (error) {
    if (isShadowdiffError(error)) {
      process.stderr.write(`shadowdiff: ${error.message}\n`);
      return error.exitCode;
    }
    const code = (error as { code?: string }).code;
    if (code === 'commander.helpDisplayed' || code === 'commander.version') return 0;
    if (typeof code === 'string' && code.startsWith('commander.')) return 3;
    process.stderr.write(`shadowdiff: ${(error as Error).stack ?? error}\n`);
    return 3;
  }
}

process.exitCode = await main(process.argv.slice(2));
