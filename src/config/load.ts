import { readFile } from 'node:fs/promises';
import type { TSchema } from '@sinclair/typebox';
import { Value, type ValueError } from '@sinclair/typebox/value';
import { parse as parseYaml } from 'yaml';
import { ShadowdiffError } from '../errors.js';
import { DURATION_PATTERN, durationMs } from './duration.js';
import { type ComparisonConfig, ComparisonSchema, type Config, ConfigSchema } from './schema.js';

const ENV_REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** Replaces `${NAME}` and `${NAME:-default}` in every string of a parsed document. */
export function interpolateEnv(value: unknown, env: NodeJS.ProcessEnv = process.env): unknown {
  if (typeof value === 'string') {
    return value.replace(ENV_REFERENCE, (_, name: string, fallback: string | undefined) => {
      const found = env[name];
      return found !== undefined && found !== '' ? found : (fallback ?? '');
    });
  }
  if (Array.isArray(value)) return value.map((item) => interpolateEnv(item, env));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateEnv(v, env)]));
  }
  return value;
}

/** `/comparisons/0/window/size` → `comparisons[0].window.size` */
export function pointerToPath(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : path ? `${path}.${part}` : part), '');
}

function describe(error: ValueError): string {
  const schema = error.schema as TSchema & { pattern?: string; description?: string };
  if (schema.pattern === DURATION_PATTERN) return 'expected a duration like 1m';
  if (schema.anyOf && schema.description) return `expected ${schema.description}`;
  if (error.message.startsWith('Unexpected property')) return 'unknown setting';
  return error.message.charAt(0).toLowerCase() + error.message.slice(1);
}

function validate<T>(schema: TSchema, document: unknown, prefix: string): T {
  const converted = Value.Default(schema, Value.Convert(schema, structuredClone(document)));
  const first = Value.Errors(schema, converted).First();
  if (first) {
    const path = prefix + pointerToPath(first.path);
    throw new ShadowdiffError('SD_CONFIG_INVALID', `${path || '(root)'}: ${describe(first)}`);
  }
  return converted as T;
}

function checkComparison(comparison: ComparisonConfig, path: string): void {
  if (comparison.format === 'avro-schema' && !comparison.schema) {
    throw new ShadowdiffError('SD_CONFIG_INVALID', `${path}.schema: required when format is avro-schema`);
  }
}

/**
 * A comparison's buffers expire once their window ended `storage.retention` before the latest
 * event time any side delivered. Backpressure lets a side run up to two windows plus the lateness
 * ahead, so a retention of twice the window and lateness or less would expire windows still due to close.
 */
export function checkRetention(comparison: ComparisonConfig, retention: string, path: string): void {
  const shortest = 2 * (durationMs(comparison.window.size) + durationMs(comparison.window.allowedLateness));
  if (durationMs(retention) <= shortest) {
    throw new ShadowdiffError(
      'SD_CONFIG_INVALID',
      `storage.retention: ${retention} is too short for ${path}: it must be longer than twice its window size plus allowed lateness (${shortest} ms)`,
    );
  }
}

/** Validates one comparison (config file entry or `POST /v1/comparisons` body). */
export function parseComparison(document: unknown, path = ''): ComparisonConfig {
  const comparison = validate<ComparisonConfig>(ComparisonSchema, document, path ? `${path}.` : '');
  checkComparison(comparison, path || '(comparison)');
  return comparison;
}

/** Validates a parsed config document: defaults applied, env interpolated, paths in errors. */
export function parseConfig(document: unknown, env: NodeJS.ProcessEnv = process.env): Config {
  const config = validate<Config>(ConfigSchema, interpolateEnv(document ?? {}, env), '');
  const seen = new Set<string>();
  config.comparisons.forEach((comparison, index) => {
    const path = `comparisons[${index}]`;
    if (seen.has(comparison.id)) {
      throw new ShadowdiffError('SD_CONFIG_INVALID', `${path}.id: duplicate comparison id ${comparison.id}`);
    }
    seen.add(comparison.id);
    checkComparison(comparison, path);
    checkRetention(comparison, config.storage.retention, path);
  });
  return config;
}

export async function loadConfig(path: string, env: NodeJS.ProcessEnv = process.env): Promise<Config> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new ShadowdiffError('SD_CONFIG_UNREADABLE', `cannot read config ${path}: ${(cause as Error).message}`, {
      cause,
    });
  }
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (cause) {
    throw new ShadowdiffError('SD_CONFIG_INVALID', `${path}: not valid YAML or JSON: ${(cause as Error).message}`, {
      cause,
    });
  }
  return parseConfig(document, env);
}
