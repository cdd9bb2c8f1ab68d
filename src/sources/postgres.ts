import { StringDecoder } from 'node:string_decoder';
import type { DuckDBConnection } from '@duckdb/node-api';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import type { Side } from '../config/schema.js';
import type { SideInput } from '../diff/engine.js';
import { identifier } from '../diff/sql.js';
import { ShadowdiffError } from '../errors.js';
import { appendDocs } from '../store/append.js';

/** A PostgreSQL table or query as one side of a batch diff (`postgres:` source of a comparison). */
export interface PostgresInput {
  /** `postgres://user@host:port/db`, optionally `?table=schema.table`; never with a password. */
  url: string;
  table?: string | undefined;
  sql?: string | undefined;
  /** The environment variable holding the password (default `PGPASSWORD`). */
  passwordEnv?: string | undefined;
}

export const isPostgresUrl = (text: string) => /^postgres(ql)?:\/\//i.test(text);

interface Target {
  client: pg.ClientConfig;
  /** The query's rows, and what names them in samples and errors (no password, ever). */
  query: string;
  label: string;
}

/** `schema.table` (either part may be double-quoted) as a quoted SQL name. */
function tableName(text: string): string {
  const parts = text.match(/"(?:[^"]|"")+"|[^."]+/g) ?? [];
  if (parts.join('.') !== text || parts.length === 0 || parts.length > 3) {
    throw new ShadowdiffError('SD_CONFIG_INVALID', `not a table name: ${JSON.stringify(text)} (expected schema.table)`);
  }
  return parts.map((part) => (part.startsWith('"') ? part : `"${part.replaceAll('"', '""')}"`)).join('.');
}

function target(input: PostgresInput, env: NodeJS.ProcessEnv): Target {
  let url: URL;
  try {
    url = new URL(input.url);
  } catch {
    throw new ShadowdiffError('SD_CONFIG_INVALID', 'not a PostgreSQL URL (expected postgres://user@host:port/db)');
  }
  if (url.password) {
    // The URL ends up in shell history, configs and reports; the password must not.
    url.password = '';
    throw new ShadowdiffError(
      'SD_CONFIG_INVALID',
      `${url.href}: a password in the URL is refused; put it in ${input.passwordEnv ?? 'PGPASSWORD'}`,
    );
  }
  const table = input.table ?? url.searchParams.get('table') ?? undefined;
  const sql = input.sql ?? url.searchParams.get('sql') ?? undefined;
  if ((table === undefined) === (sql === undefined)) {
    throw new ShadowdiffError(
      'SD_CONFIG_INVALID',
      `${url.href}: name exactly one of a table (?table=schema.table) or a query (sql: in the config)`,
    );
  }
  const sslmode = url.searchParams.get('sslmode');
  const passwordEnv = input.passwordEnv ?? 'PGPASSWORD';
  const password = env[passwordEnv];
  // Not url.origin: it is "null" for schemes a browser does not know.
  const base = `postgres://${url.username ? `${url.username}@` : ''}${url.host}${url.pathname}`;
  const label = table === undefined ? `${base} (sql)` : `${base}?table=${table}`;
  return {
    client: {
      host: url.hostname.replace(/^\[|\]$/g, '') || 'localhost',
      port: url.port ? Number(url.port) : 5432,
      user: decodeURIComponent(url.username) || env.PGUSER,
      database: decodeURIComponent(url.pathname.slice(1)) || env.PGDATABASE,
      ...(password !== undefined ? { password } : {}),
      ...(sslmode && sslmode !== 'disable'
        ? { ssl: sslmode === 'verify-full' ? true : { rejectUnauthorized: false } }
        : {}),
      application_name: 'shadowdiff',
    },
    query: table === undefined ? (sql as string) : `SELECT * FROM ${tableName(table)}`,
    label,
  };
}

/** COPY's text format escapes backslash, newline, CR, tab, backspace, form feed and vertical tab. */
const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', b: '\b', f: '\f', v: '\v' };
export function unescapeCopyText(line: string): string {
  if (!line.includes('\\')) return line;
  return line.replace(/\\(.)/g, (_, char: string) => ESCAPES[char] ?? char);
}

/** The lines of a COPY ... TO STDOUT stream, unescaped; chunks need not end on a line or a character. */
async function* copyLines(stream: AsyncIterable<Buffer>): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  for await (const chunk of stream) {
    const text = rest + decoder.write(chunk);
    const lines = text.split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) yield unescapeCopyText(line);
  }
  rest += decoder.end();
  if (rest !== '') yield unescapeCopyText(rest);
}

/**
 * Streams a PostgreSQL table or query into a DuckDB table of `(doc, reason)`, one JSON object per
 * row in the order the server sends them. PostgreSQL writes each row as JSON itself
 * (`row_to_json`): numerics with their exact digits, timestamps as ISO text, jsonb and arrays as
 * JSON, NULL as null, so they compare by the rules of any JSON input. COPY hands the rows over
 * as a stream and the appender takes them as they come: memory holds a chunk, not the table.
 */
export async function loadPostgres(
  connection: DuckDBConnection,
  side: Side,
  input: PostgresInput,
  env: NodeJS.ProcessEnv = process.env,
): Promise<SideInput> {
  const { client: config, query, label } = target(input, env);
  const name = `sd_pg_${side}`;
  const table = identifier(name);
  await connection.run(`CREATE OR REPLACE TABLE ${table} (doc VARCHAR, reason VARCHAR)`);
  const client = new pg.Client(config);
  try {
    await client.connect();
    // Times with a zone are written in UTC, whatever the server's or role's default zone.
    await client.query("SET TimeZone = 'UTC'");
    const copy = client.query(copyTo(`COPY (SELECT row_to_json(q)::text FROM (${query}) q) TO STDOUT`));
    // The reader below gets the stream's errors; without a listener one that comes before it
    // reads (or after it stopped) would also be an uncaught exception.
    copy.on('error', () => undefined);
    async function* rows() {
      for await (const doc of copyLines(copy as AsyncIterable<Buffer>)) yield { doc };
    }
    await appendDocs(connection, name, rows());
  } catch (cause) {
    throw new ShadowdiffError('SD_INPUT_UNREADABLE', `cannot read ${label}: ${(cause as Error).message}`, { cause });
  } finally {
    await client.end().catch(() => undefined);
  }
  return {
    side,
    relation: `(SELECT doc, reason FROM ${table})`,
    locate: async (positions) => new Map(positions.map((position) => [position, { label: `${label}#${position}` }])),
  };
}
