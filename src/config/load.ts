import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { TSchema } from '@sinclair/typebox';
import { Value, type ValueError, ValueErrorType, ValuePointer } from '@sinclair/typebox/value';
import { parse as parseYaml } from 'yaml';
import { checkScope } from '../diff/scope.js';
import { ShadowdiffError } from '../errors.js';
import { checkClusterSources, checkResultsTopic } from './cluster.js';
import { DURATION_PATTERN, durationMs, parseDuration } from './duration.js';
import {
  type ComparisonConfig,
  ComparisonSchema,
  type Config,
  ConfigSchema,
  type ScopeConfig,
  ScopeSchema,
} from './schema.js';

const ENV_REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** The path of a member below `path`: `comparisons` → `comparisons[0]` → `comparisons[0].live`. */
function childPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path ? `${path}.${key}` : key;
}

/**
 * Replaces `${NAME}` and `${NAME:-default}` in every string of a parsed document. A `${NAME}`
 * without a default whose variable is unset or empty is an error naming the variable and the
 * path: an empty value would otherwise surface as a puzzling type error, or pass unnoticed.
 * `${NAME:-}` asks for the empty value explicitly.
 */
export function interpolateEnv(value: unknown, env: NodeJS.ProcessEnv = process.env, path = ''): unknown {
  if (typeof value === 'string') {
    return value.replace(ENV_REFERENCE, (_, name: string, fallback: string | undefined) => {
      const found = env[name];
      if (found !== undefined && found !== '') return found;
      if (fallback !== undefined) return fallback;
      throw new ShadowdiffError(
        'SD_CONFIG_INVALID',
        `${path || '(root)'}: \${${name}} is ${found === undefined ? 'not set' : 'empty'} (write \${${name}:-} to allow an empty value)`,
      );
    });
  }
  if (Array.isArray(value)) return value.map((item, index) => interpolateEnv(item, env, childPath(path, index)));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, member]) => [key, interpolateEnv(member, env, childPath(path, key))]),
    );
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

const TYPE_MESSAGES: Partial<Record<ValueErrorType, string>> = {
  [ValueErrorType.String]: 'expected a string',
  [ValueErrorType.Number]: 'expected a number',
  [ValueErrorType.Integer]: 'expected a whole number',
  [ValueErrorType.Boolean]: 'expected true or false',
  [ValueErrorType.Array]: 'expected an array',
  [ValueErrorType.Object]: 'expected an object',
  [ValueErrorType.ObjectRequiredProperty]: 'required',
};

function describe(error: ValueError): string {
  const schema = error.schema as TSchema & { pattern?: string; description?: string };
  if (schema.pattern === DURATION_PATTERN) return 'expected a duration like 1m';
  if (schema.anyOf && schema.description) return `expected ${schema.description}`;
  const literals = (schema.anyOf as TSchema[] | undefined)?.map((variant) => variant.const);
  if (literals?.every((literal) => literal !== undefined)) return `expected one of ${literals.join(', ')}`;
  if (error.message.startsWith('Unexpected property')) return 'unknown setting';
  const typed = TYPE_MESSAGES[error.type];
  if (typed) return typed;
  return error.message.charAt(0).toLowerCase() + error.message.slice(1);
}

/**
 * The variant of a union of mappings that a value means: the one alone to name a member the value
 * has (`{kafka: ...}` means the kafka source). Undefined when none or several do.
 */
function chosenVariant(error: ValueError): TSchema | undefined {
  const { value } = error;
  if (error.type !== ValueErrorType.Union || value === null || typeof value !== 'object' || Array.isArray(value)) {
    return undefined;
  }
  const keys = Object.keys(value);
  const named = ((error.schema.anyOf ?? []) as TSchema[]).filter(
    (variant) => variant.properties && keys.some((key) => key in (variant.properties as object)),
  );
  return named.length === 1 ? named[0] : undefined;
}

/** Converts and fills in a value as `schema` says, on a copy. */
function prepared(schema: TSchema, value: unknown): unknown {
  return Value.Default(schema, Value.Convert(schema, structuredClone(value)));
}

/**
 * The first error of a document, after converting and filling in each union of mappings as the
 * variant it names (TypeBox converts a union's value only when a variant then passes before its
 * defaults are filled in, so `topic: 2024` was refused in a source while numbers convert to strings
 * elsewhere). An error inside a named variant is reported there (`live.kafka.topic: expected a
 * string`), not as the whole union's.
 */
function firstError(schema: TSchema, document: unknown): { path: string; message: string } | undefined {
  // Each pass settles one union value; a document has finitely many. A value that stays wrong
  // once settled is reported as it is, so no input can keep this going.
  const settled = new Set<string>();
  for (;;) {
    const error = Value.Errors(schema, document).First();
    if (!error) return undefined;
    const variant = chosenVariant(error);
    if (!variant || error.path === '' || settled.has(error.path)) return { path: error.path, message: describe(error) };
    settled.add(error.path);
    const value = prepared(variant, error.value);
    const inner = firstError(variant, value);
    if (inner) return { path: error.path + inner.path, message: inner.message };
    ValuePointer.Set(document, error.path, value);
  }
}

function validate<T>(schema: TSchema, document: unknown, prefix: string): T {
  const converted = prepared(schema, document);
  const error = firstError(schema, converted);
  if (error) {
    const path = prefix + pointerToPath(error.path);
    throw new ShadowdiffError('SD_CONFIG_INVALID', `${path || '(root)'}: ${error.message}`);
  }
  return converted as T;
}

/** A window has to have a length in whole milliseconds: windows are numbered by `floor(t / size)`. */
function checkWindow(comparison: ComparisonConfig, prefix: string): void {
  const invalid = (name: string, problem: string) =>
    new ShadowdiffError('SD_CONFIG_INVALID', `${prefix}window.${name}: ${problem}`);
  const size = parseDuration(comparison.window.size) as number;
  if (size === 0) throw invalid('size', 'must be greater than 0');
  if (!Number.isInteger(size)) throw invalid('size', 'must be a whole number of milliseconds');
  // A partition idle at once would not hold its side's watermark: windows would close over the
  // records of slower partitions, which then count as late.
  if (parseDuration(comparison.window.idleTimeout) === 0) throw invalid('idleTimeout', 'must be greater than 0');
}

/** `prefix`: the comparison's path and a dot in a config file, empty for a `POST /v1/comparisons` body. */
function checkComparison(comparison: ComparisonConfig, prefix: string): void {
  checkWindow(comparison, prefix);
  if (comparison.format === 'avro-schema' && !comparison.schema) {
    throw new ShadowdiffError('SD_CONFIG_INVALID', `${prefix}schema: required when format is avro-schema`);
  }
  checkScope(comparison, prefix);
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
  const prefix = path ? `${path}.` : '';
  const comparison = validate<ComparisonConfig>(ComparisonSchema, document, prefix);
  checkComparison(comparison, prefix);
  return comparison;
}

/** Validates a scope on its own (a `PUT /v1/comparisons/{id}/scope` body): null removes the scope. */
export function parseScope(document: unknown): ScopeConfig | null {
  if (document === null) return null;
  if (typeof document !== 'object' || Array.isArray(document)) {
    throw new ShadowdiffError('SD_CONFIG_INVALID', 'scope: expected an object, or null for no scope');
  }
  return validate<ScopeConfig>(ScopeSchema, document, 'scope.');
}

/** Validates a parsed config document: defaults applied, env interpolated, paths in errors. */
export function parseConfig(document: unknown, env: NodeJS.ProcessEnv = process.env): Config {
  const config = validate<Config>(ConfigSchema, interpolateEnv(document ?? {}, env), '');
  checkResultsTopic(config.cluster);
  const seen = new Set<string>();
  config.comparisons.forEach((comparison, index) => {
    const path = `comparisons[${index}]`;
    if (seen.has(comparison.id)) {
      throw new ShadowdiffError('SD_CONFIG_INVALID', `${path}.id: duplicate comparison id ${comparison.id}`);
    }
    seen.add(comparison.id);
    checkComparison(comparison, `${path}.`);
    checkRetention(comparison, config.storage.retention, path);
    if (config.cluster.enabled) checkClusterSources(comparison, `${path}.`);
  });
  return config;
}

/**
 * Parses YAML whose values may hold `${...}` references. Inside a flow collection a reference is
 * not a plain scalar (`{topic: ${TOPIC}}` is a syntax error: `{` opens a mapping), so references
 * are swapped for plain tokens while the text is parsed and put back after, for `interpolateEnv`
 * to fill in: values from the environment never go through the YAML parser.
 */
function parseYamlWithReferences(text: string): unknown {
  const nonce = randomBytes(6).toString('hex');
  const references: string[] = [];
  const tokens = new RegExp(`sdenv${nonce}r(\\d+)r`, 'g');
  const restoreText = (text: string) => text.replace(tokens, (_, index: string) => references[Number(index)] ?? '');
  let parsed: unknown;
  try {
    parsed = parseYaml(text.replace(ENV_REFERENCE, (reference) => `sdenv${nonce}r${references.push(reference) - 1}r`));
  } catch (error) {
    // The excerpt of the text in the message shows the references as written.
    (error as Error).message = restoreText((error as Error).message);
    throw error;
  }
  const restore = (value: unknown): unknown => {
    if (typeof value === 'string') return restoreText(value);
    if (Array.isArray(value)) return value.map(restore);
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([key, member]) => [restoreText(key), restore(member)]));
    }
    return value;
  };
  return restore(parsed);
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
    document = parseYamlWithReferences(text);
  } catch (cause) {
    throw new ShadowdiffError('SD_CONFIG_INVALID', `${path}: not valid YAML or JSON: ${(cause as Error).message}`, {
      cause,
    });
  }
  return parseConfig(document, env);
}
