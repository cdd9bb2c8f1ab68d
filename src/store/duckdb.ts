import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';

export interface DatabaseOptions {
  /** `:memory:` or a file path. */
  path: string;
  memoryLimit?: string;
  threads?: number;
  /** Where DuckDB spills when a query needs more than memoryLimit. */
  tempDirectory?: string;
}

export async function openDatabase(options: DatabaseOptions): Promise<DuckDBInstance> {
  const config: Record<string, string> = {};
  if (options.memoryLimit) config.memory_limit = options.memoryLimit;
  if (options.threads) config.threads = String(options.threads);
  if (options.tempDirectory) config.temp_directory = options.tempDirectory;
  return DuckDBInstance.create(options.path, config);
}

/** A connection with the session settings every shadowdiff query relies on. */
export async function connect(instance: DuckDBInstance): Promise<DuckDBConnection> {
  const connection = await instance.connect();
  // ISO timestamps without a zone are read as UTC, the same as the JS side does.
  await connection.run("SET TimeZone = 'UTC'");
  return connection;
}

export type ProgressListener = (fraction: number) => void;

/** Runs a statement and reports DuckDB's own progress estimate while it runs. */
export async function runWithProgress(
  connection: DuckDBConnection,
  sql: string,
  onProgress?: ProgressListener,
): Promise<void> {
  if (!onProgress) {
    await connection.run(sql);
    return;
  }
  const timer = setInterval(() => {
    const { percentage } = connection.progress;
    if (percentage >= 0) onProgress(percentage / 100);
  }, 200);
  try {
    await connection.run(sql);
    onProgress(1);
  } finally {
    clearInterval(timer);
  }
}

/** Runs `work` in one transaction: all of its writes commit, or none. */
export async function inTransaction<T>(connection: DuckDBConnection, work: () => Promise<T>): Promise<T> {
  await connection.run('BEGIN TRANSACTION');
  try {
    const result = await work();
    await connection.run('COMMIT');
    return result;
  } catch (error) {
    await connection.run('ROLLBACK');
    throw error;
  }
}

/** Runs a query and returns its rows as plain JSON-safe objects (BIGINT as string is avoided by casting in SQL). */
export async function queryRows<T = Record<string, unknown>>(connection: DuckDBConnection, sql: string): Promise<T[]> {
  const reader = await connection.runAndReadAll(sql);
  return reader.getRowObjectsJS() as T[];
}
