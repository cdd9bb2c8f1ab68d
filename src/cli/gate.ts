import { setTimeout as sleep } from 'node:timers/promises';
import { parseDuration } from '../config/duration.js';
import { ShadowdiffError } from '../errors.js';

export interface GateOptions {
  url: string;
  timeout: string;
  interval: string;
  /** Where progress lines go; the CI log. */
  log?: (line: string) => void;
  fetch?: typeof fetch;
}

function duration(text: string, flag: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new ShadowdiffError('SD_CLI_USAGE', `${flag}: expected a duration like 30s, got ${text}`);
  return ms;
}

/**
 * `shadowdiff gate`: polls a verdict URL until PASS (exit 0) or FAIL (exit 1); still INCONCLUSIVE at
 * the timeout exits 2. Unreachable or malformed answers are retried until the timeout, then exit 3.
 */
export async function runGate(options: GateOptions): Promise<number> {
  const timeoutMs = duration(options.timeout, '--timeout');
  const intervalMs = duration(options.interval, '--interval');
  // No pause between polls would hammer the verdict endpoint until the timeout.
  if (intervalMs === 0) throw new ShadowdiffError('SD_CLI_USAGE', '--interval: must be greater than 0');
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const doFetch = options.fetch ?? fetch;
  const deadline = Date.now() + timeoutMs;
  let lastProblem: string | undefined;
  let sawVerdict = false;
  for (;;) {
    try {
      const response = await doFetch(options.url, {
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(Math.min(10_000, Math.max(1000, intervalMs))),
      });
      const body = (await response.json().catch(() => undefined)) as
        | { verdict?: unknown; reason?: unknown; score?: unknown }
        | undefined;
      if (body && typeof body.verdict === 'string') {
        sawVerdict = true;
        lastProblem = undefined;
        log(`${new Date().toISOString()} ${body.verdict} (score ${body.score}): ${body.reason}`);
        if (body.verdict === 'PASS') return 0;
        if (body.verdict === 'FAIL') return 1;
      } else {
        lastProblem = `HTTP ${response.status} without a verdict from ${options.url}`;
        log(lastProblem);
      }
    } catch (error) {
      lastProblem = `cannot reach ${options.url}: ${(error as Error).message}`;
      log(lastProblem);
    }
    const left = deadline - Date.now();
    if (left <= 0) break;
    await sleep(Math.min(intervalMs, left));
  }
  if (!sawVerdict && lastProblem) throw new ShadowdiffError('SD_GATE_UNREACHABLE', lastProblem);
  log(`still INCONCLUSIVE after ${options.timeout}`);
  return 2;
}
