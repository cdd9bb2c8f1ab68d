import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { waitFor } from './wait.js';

const CLI = new URL('../../dist/cli/main.js', import.meta.url).pathname;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

export interface ServeOptions {
  /** The working directory (relative paths in the config resolve from it); the test's by default. */
  cwd?: string;
  /** Every line the service logs (stdout), as it comes; the service logs at debug level then. */
  onLogLine?: (line: string) => void;
}

/** `shadowdiff serve` as a real process, for crash and shutdown tests. */
export async function startServe(
  configPath: string,
  port: number,
  env: NodeJS.ProcessEnv = {},
  options: ServeOptions = {},
): Promise<ChildProcess> {
  const { onLogLine } = options;
  const child = spawn(process.execPath, [CLI, 'serve', '--config', configPath], {
    env: {
      ...process.env,
      ...env,
      PORT: String(port),
      ...(onLogLine ? { SHADOWDIFF_LOG_LEVEL: 'debug' } : {}),
    },
    stdio: ['ignore', onLogLine ? 'pipe' : process.env.SHADOWDIFF_TEST_LOGS ? 'inherit' : 'ignore', 'pipe'],
    ...(options.cwd ? { cwd: options.cwd } : {}),
  });
  if (onLogLine && child.stdout) {
    createInterface({ input: child.stdout }).on('line', onLogLine);
  }
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
    if (process.env.SHADOWDIFF_TEST_LOGS) process.stderr.write(chunk);
  });
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`serve exited with ${child.exitCode}: ${stderr}`);
        return fetch(`http://127.0.0.1:${port}/healthz`).then(
          (r) => r.ok,
          () => false,
        );
      },
      30_000,
      'shadowdiff serve to answer /healthz',
    );
  } catch (error) {
    // A serve left running would hold its consumer groups and ports for the tests after this one.
    child.kill('SIGKILL');
    throw error;
  }
  return child;
}

export async function getJson<T = Record<string, unknown>>(
  url: string,
): Promise<{ status: number; body: T; headers: Headers }> {
  const response = await fetch(url);
  return { status: response.status, body: (await response.json()) as T, headers: response.headers };
}
