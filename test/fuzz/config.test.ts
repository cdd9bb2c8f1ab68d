import { writeFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { stringify as toYaml } from 'yaml';
import { loadConfig, parseConfig } from '../../src/config/load.js';
import { isShadowdiffError } from '../../src/errors.js';
import { tempDir } from '../helpers/tmp.js';
import { FUZZ_RUNS, fuzzOptions } from './fuzz.js';

const files = tempDir();
afterAll(() => files.remove());

const ENV = { TOKEN: 'secret', EMPTY: '' };

/** The config of SPEC §8, every section set: mutations of it reach every part of the schema. */
const VALID = {
  server: { host: '0.0.0.0', port: 8080, adminToken: '${TOKEN:-}' },
  storage: { path: './data/shadowdiff.duckdb', memoryLimit: '1GB', retention: '7d' },
  kafka: { brokers: ['localhost:9092'], clientId: 'shadowdiff', ssl: false, sasl: null },
  schemaRegistry: { url: 'http://localhost:8081' },
  metrics: { maxFieldLabels: 50 },
  comparisons: [
    {
      id: 'orders-v2',
      live: { kafka: { topic: 'orders.v1' } },
      candidate: { file: { path: 'candidate.ndjson' } },
      control: { simulate: { ratePerSecond: 100 } },
      format: 'json',
      key: ['order_id'],
      time: { field: 'event_time' },
      window: { size: '1m', allowedLateness: '30s', idleTimeout: '2m' },
      sampling: { rate: 1.0 },
      duplicates: 'last',
      compare: {
        ignore: ['processed_at'],
        numeric: { abs: 0, rel: 0, fields: { amount: { abs: 0.01 } } },
        unorderedArrays: ['items'],
        nullEqualsMissing: true,
        timestamps: { paths: ['event_time'], toleranceMs: 5 },
      },
      verdict: { tolerance: 0.001, alpha: 0.05, minSamples: 1000, maxLagSeconds: 300 },
      redact: ['customer.email'],
    },
  ],
};

type Path = (string | number)[];

function pathsOf(value: unknown, path: Path = []): Path[] {
  if (Array.isArray(value)) return [path, ...value.flatMap((item, i) => pathsOf(item, [...path, i]))];
  if (value !== null && typeof value === 'object') {
    return [path, ...Object.entries(value).flatMap(([name, member]) => pathsOf(member, [...path, name]))];
  }
  return [path];
}

const PATHS = pathsOf(VALID).filter((path) => path.length > 0);

type Mutation = { path: Path; op: 'delete' | 'replace' | 'add'; value: unknown; name: string };

function mutate(document: unknown, { path, op, value, name }: Mutation): unknown {
  const copy = structuredClone(document) as Record<string | number, unknown>;
  const parent = path
    .slice(0, -1)
    .reduce<unknown>((node, part) => (node as Record<string | number, unknown>)?.[part], copy);
  if (parent === null || typeof parent !== 'object') return copy;
  const last = path[path.length - 1] as string | number;
  const target = parent as Record<string | number, unknown>;
  if (op === 'delete') {
    if (Array.isArray(target) && typeof last === 'number') target.splice(last, 1);
    else delete target[last];
  } else if (op === 'replace') target[last] = value;
  else if (target[last] !== null && typeof target[last] === 'object' && !Array.isArray(target[last])) {
    (target[last] as Record<string, unknown>)[name] = value;
  } else target[last] = [value];
  return copy;
}

const mutation = fc.record({
  path: fc.constantFrom(...PATHS),
  op: fc.constantFrom('delete', 'replace', 'add'),
  value: fc.oneof(
    fc.jsonValue({ maxDepth: 2 }),
    fc.constantFrom('', '0', '-1', '1e309', '5x', '${TOKEN}', '${EMPTY:-1m}', 'NaN', '1m', '10ms'),
    fc.double(),
    fc.integer(),
  ),
  name: fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('__proto__', 'constructor', 'abs', 'fields')),
});

/** parseConfig's contract: a config, or SD_CONFIG_INVALID naming where. */
function parsesOrExplains(document: unknown): void {
  try {
    parseConfig(document, ENV);
  } catch (error) {
    if (!isShadowdiffError(error) || error.code !== 'SD_CONFIG_INVALID') throw error;
    expect(error.message.length).toBeGreaterThan(0);
  }
}

/**
 * 10,000 inputs in all, split rather than multiplied: a parse costs about a millisecond here, and
 * a YAML file (written, read, parsed) several.
 */
describe('config loading under random input', () => {
  it('accepts the unmutated config', () => {
    expect(parseConfig(VALID, ENV).server.adminToken).toBe('secret');
  });

  it('parses or names the problem for random mutations of a valid config', () => {
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (mutations) => {
        parsesOrExplains(mutations.reduce<unknown>(mutate, VALID));
      }),
      fuzzOptions(FUZZ_RUNS * 0.65),
    );
  });

  it('parses or names the problem for random JSON documents', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue({ maxDepth: 4 }),
          fc.anything({ maxDepth: 3 }),
          fc.record({ comparisons: fc.jsonValue() }),
        ),
        parsesOrExplains,
      ),
      fuzzOptions(FUZZ_RUNS * 0.25),
    );
  });

  it('loads or names the problem for random YAML and JSON files', async () => {
    const path = `${files.dir}/fuzz.yaml`;
    const token = fc.constantFrom(
      'comparisons:',
      '- id: x',
      '  key: [a]',
      '  live: {file: {path: a}}',
      ': ',
      '- ',
      '{',
      '}',
      '[',
      ']',
      '&a ',
      '*a',
      '!!binary ',
      '!!js/function ',
      '<<: *a',
      '"',
      "'",
      '\t',
      '\n',
      '#',
      '%YAML 1.2\n---\n',
      '---\n',
      '${TOKEN}',
      '\u0000',
      '\ufeff',
    );
    const text = fc.oneof(
      fc.array(fc.oneof(token, fc.string({ maxLength: 6 })), { maxLength: 24 }).map((parts) => parts.join('')),
      fc.array(mutation, { minLength: 1, maxLength: 2 }).map((ms) => toYaml(ms.reduce<unknown>(mutate, VALID))),
      fc.array(mutation, { minLength: 1, maxLength: 2 }).map((ms) => JSON.stringify(ms.reduce<unknown>(mutate, VALID))),
      fc.string({ unit: 'binary', maxLength: 64 }),
    );
    // The YAML parser warns through process.emitWarning about unknown tags and directives it
    // then ignores; thousands of them would bury the test output.
    const emitWarning = process.emitWarning;
    let warnings = 0;
    process.emitWarning = () => {
      warnings++;
    };
    onTestFinished(() => {
      process.emitWarning = emitWarning;
    });
    await fc.assert(
      fc.asyncProperty(text, async (yaml) => {
        writeFileSync(path, yaml);
        try {
          await loadConfig(path, ENV);
        } catch (error) {
          if (!isShadowdiffError(error) || error.code !== 'SD_CONFIG_INVALID') throw error;
        }
      }),
      fuzzOptions(FUZZ_RUNS * 0.1),
    );
    expect(warnings).toBeGreaterThan(0);
  });
});

describe('a config bug the fuzzer found', () => {
  it('names a self-referencing YAML alias as a config error, not a stack overflow', async () => {
    const path = files.write('alias.yaml', 'comparisons: &a [*a]\n');
    await expect(loadConfig(path, ENV)).rejects.toMatchObject({ code: 'SD_CONFIG_INVALID' });
  });
});
