import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './serve.js';
import { waitFor } from './wait.js';

/**
 * The path of a Prometheus tool. A missing tool fails the test with what to do, rather than
 * skipping it: CI installs both through scripts/test-deps.sh.
 */
export function requireTool(name: 'prometheus' | 'promtool'): string {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const path = found.stdout.trim();
  if (found.status !== 0 || path === '') {
    throw new Error(
      `${name} is not on PATH: run \`bash scripts/test-deps.sh\` (installs the Debian package prometheus), or put prometheus and promtool on PATH`,
    );
  }
  return path;
}

export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

/** An answer of /api/v1/query: `result` for vector queries, `error` when the query does not parse. */
export interface QueryAnswer {
  status: 'success' | 'error';
  result: PromSample[];
  error?: string;
}

export interface RunningPrometheus {
  url: string;
  query(expr: string): Promise<QueryAnswer>;
  get<T>(path: string): Promise<T>;
  stop(): Promise<void>;
}

export interface PrometheusOptions {
  /** Folder for the config and the TSDB; the caller removes it. */
  dir: string;
  /** host:port of the /metrics endpoint to scrape. */
  target: string;
  ruleFiles?: string[];
}

/** A real Prometheus on a free port that scrapes one target every second, its rules evaluated every second. */
export async function startPrometheus(options: PrometheusOptions): Promise<RunningPrometheus> {
  const binary = requireTool('prometheus');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const config = {
    global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
    rule_files: options.ruleFiles ?? [],
    scrape_configs: [{ job_name: 'shadowdiff', static_configs: [{ targets: [options.target] }] }],
  };
  // JSON is YAML, so the config needs no YAML writer.
  const configFile = join(options.dir, 'prometheus.yml');
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  const storage = join(options.dir, 'tsdb');
  mkdirSync(storage, { recursive: true });
  const child: ChildProcess = spawn(
    binary,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${storage}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}: ${stderr}`);
        return fetch(`${url}/-/ready`).then(
          (r) => r.ok,
          () => false,
        );
      },
      60_000,
      'prometheus to be ready',
    );
  } catch (error) {
    await stop();
    throw error;
  }
  const get = async <T>(path: string): Promise<T> => (await (await fetch(`${url}${path}`)).json()) as T;
  return {
    url,
    get,
    async query(expr) {
      const answer = await get<{ status: 'success' | 'error'; data?: { result: PromSample[] }; error?: string }>(
        `/api/v1/query?${new URLSearchParams({ query: expr })}`,
      );
      return {
        status: answer.status,
        result: answer.data?.result ?? [],
        ...(answer.error ? { error: answer.error } : {}),
      };
    },
    stop,
  };
}
