import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './serve.js';
import { waitFor } from './wait.js';

/**
 * The folder of PostgreSQL's server programs: on PATH, or where Debian's `postgresql` package puts
 * them. A missing server fails the test with what to do, rather than skipping it: CI installs it
 * through scripts/test-deps.sh.
 */
function serverBin(): string {
  const found = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' });
  const initdb = found.stdout.trim();
  if (found.status === 0 && initdb && existsSync(join(initdb, '..', 'postgres'))) return join(initdb, '..');
  const versions = existsSync('/usr/lib/postgresql')
    ? readdirSync('/usr/lib/postgresql')
        .filter((version) => existsSync(join('/usr/lib/postgresql', version, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions[0]) return join('/usr/lib/postgresql', versions[0], 'bin');
  throw new Error(
    'PostgreSQL (initdb, postgres) is not installed: run `bash scripts/test-deps.sh` (installs the Debian package postgresql)',
  );
}

export interface RunningPostgres {
  port: number;
  user: string;
  password: string;
  /** `postgres://user@127.0.0.1:port/postgres`, no password. */
  url: string;
  query(sql: string, values?: unknown[]): Promise<pg.QueryResult>;
  stop(): Promise<void>;
}

/**
 * A throwaway PostgreSQL server on a free port of 127.0.0.1 (TCP only), password authentication
 * for user `shadowdiff`. initdb refuses to run as root, so as root the server runs as the
 * `postgres` user that Debian's package creates, in a folder it owns.
 */
export async function startPostgres(): Promise<RunningPostgres> {
  const bin = serverBin();
  const root = mkdtempSync(join(tmpdir(), 'shadowdiff-pg-'));
  chmodSync(root, 0o755);
  const data = join(root, 'data');
  const user = 'shadowdiff';
  const password = `pw-${process.pid}-${Date.now()}`;
  const pwfile = join(root, 'pwfile');
  writeFileSync(pwfile, `${password}\n`);
  const asRoot = process.getuid?.() === 0;
  let as: string[] = [];
  if (asRoot) {
    const id = (flag: string) => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
    const uid = id('-u');
    if (!Number.isInteger(uid) || uid === 0)
      throw new Error('running as root needs the `postgres` user to start a server');
    mkdirSync(data, { mode: 0o700 });
    chownSync(data, uid, id('-g'));
    chownSync(pwfile, uid, id('-g'));
    as = ['runuser', '-u', 'postgres', '--'];
  }
  const run = (program: string, args: string[]) => {
    const [command, ...rest] = [...as, join(bin, program), ...args];
    return spawn(command as string, rest, { stdio: ['ignore', 'pipe', 'pipe'] });
  };
  const initdb = run('initdb', [
    '-D',
    data,
    '-U',
    user,
    '--auth=scram-sha-256',
    `--pwfile=${pwfile}`,
    '-E',
    'UTF8',
    '--locale=C',
    '--no-sync',
  ]);
  let initLog = '';
  initdb.stderr?.on('data', (chunk) => {
    initLog += chunk;
  });
  const [initCode] = await once(initdb, 'exit');
  if (initCode !== 0) throw new Error(`initdb failed (${initCode}): ${initLog}`);

  const port = await freePort();
  const server: ChildProcess = run('postgres', [
    '-D',
    data,
    '-p',
    String(port),
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'unix_socket_directories=',
    '-c',
    'fsync=off',
    '-c',
    'synchronous_commit=off',
  ]);
  let log = '';
  server.stderr?.on('data', (chunk) => {
    log += chunk;
  });
  const connect = async () => {
    const client = new pg.Client({ host: '127.0.0.1', port, user, password, database: 'postgres' });
    await client.connect();
    return client;
  };
  let client: pg.Client | undefined;
  await waitFor(
    async () => {
      if (server.exitCode !== null) throw new Error(`postgres exited: ${log}`);
      client = await connect().catch(() => undefined);
      return client !== undefined;
    },
    120_000,
    'postgres to accept connections',
  );
  const stop = async () => {
    await client?.end().catch(() => undefined);
    if (server.exitCode === null && server.signalCode === null) {
      // The server's own pid (runuser is in between as root): SIGINT is its fast shutdown.
      const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
      process.kill(pid, 'SIGINT');
      await once(server, 'exit');
    }
    rmSync(root, { recursive: true, force: true });
  };
  return {
    port,
    user,
    password,
    url: `postgres://${user}@127.0.0.1:${port}/postgres`,
    query: (sql, values) => (client as pg.Client).query(sql, values),
    stop,
  };
}
