import { afterAll, describe, expect, it } from 'vitest';
import { interpolateEnv, loadConfig, parseConfig, pointerToPath } from '../../src/config/load.js';
import { tempDir } from '../helpers/tmp.js';

const files = tempDir();
afterAll(() => files.remove());

const minimal = (extra: Record<string, unknown> = {}) => ({
  comparisons: [
    {
      id: 'orders-v2',
      live: { file: { path: 'live.ndjson' } },
      candidate: { file: { path: 'candidate.ndjson' } },
      key: ['order_id'],
      ...extra,
    },
  ],
});

describe('config loading', () => {
  it('applies defaults from the schema', () => {
    const config = parseConfig(minimal());
    const comparison = config.comparisons[0]!;
    expect(config.server.port).toBe(8080);
    expect(comparison.window.size).toBe('1m');
    expect(comparison.duplicates).toBe('last');
    expect(comparison.compare.nullEqualsMissing).toBe(true);
    expect(comparison.verdict.alpha).toBe(0.05);
    expect(comparison.sampling.rate).toBe(1);
  });

  it('names the path of a bad duration', () => {
    expect(() => parseConfig(minimal({ window: { size: 'soon' } }))).toThrow(
      'comparisons[0].window.size: expected a duration like 1m',
    );
  });

  it('names the path of a bad thread count', () => {
    expect(() => parseConfig({ ...minimal(), storage: { threads: 0 } })).toThrow(/^storage\.threads: /);
  });

  it('names the path of a bad source', () => {
    expect(() => parseConfig(minimal({ live: { ftp: {} } }))).toThrow(/^comparisons\[0\]\.live: expected one of/);
  });

  it.each([
    [{ size: '0s' }, 'comparisons[0].window.size: must be greater than 0'],
    [{ size: '0.5ms' }, 'comparisons[0].window.size: must be a whole number of milliseconds'],
    [{ idleTimeout: '0m' }, 'comparisons[0].window.idleTimeout: must be greater than 0'],
    [{ size: `${'9'.repeat(400)}s` }, 'comparisons[0].window.size: expected a duration like 1m'],
  ])('refuses a window that would break windowing (%#)', (window, message) => {
    expect(() => parseConfig(minimal({ window }))).toThrow(message);
  });

  it('allows no lateness', () => {
    expect(parseConfig(minimal({ window: { allowedLateness: '0s' } })).comparisons[0]?.window.allowedLateness).toBe(
      '0s',
    );
  });

  it.each([
    [{ live: { kafka: { topic: ['orders'] } } }, 'comparisons[0].live.kafka.topic: expected a string'],
    [{ live: { kafka: {} } }, 'comparisons[0].live.kafka.topic: required'],
    [{ candidate: { file: { path: 'x', folow: true } } }, 'comparisons[0].candidate.file.folow: unknown setting'],
    [
      { control: { simulate: { ratePerSecond: 'fast' } } },
      'comparisons[0].control.simulate.ratePerSecond: expected a number',
    ],
    [{ time: { field: ['t'] } }, 'comparisons[0].time.field: expected a string'],
    [{ time: { field: 't', unit: 'ns' } }, 'comparisons[0].time.unit: expected one of ms, s, us'],
  ])('names the bad field inside a source or time, not the whole union (%#)', (extra, message) => {
    expect(() => parseConfig(minimal(extra))).toThrow(message);
  });

  it('converts values inside a source as everywhere else (a YAML topic name that reads as a number)', () => {
    const config = parseConfig(minimal({ live: { kafka: { topic: 2024 } } }));
    expect(config.comparisons[0]?.live).toEqual({ kafka: { topic: '2024', fromBeginning: true } });
  });

  it('still names the union when the source names no known kind or several', () => {
    expect(() => parseConfig(minimal({ live: { kafka: { topic: 'a' }, file: { path: 'b' } } }))).toThrow(
      /^comparisons\[0\]\.live: expected one of/,
    );
  });

  it('names an unset variable and where it is used; ${VAR:-} allows an empty value', () => {
    const document = minimal({ live: { kafka: { topic: '${TOPIC}' } } });
    expect(() => parseConfig(document, {} as NodeJS.ProcessEnv)).toThrow(
      'comparisons[0].live.kafka.topic: ${TOPIC} is not set (write ${TOPIC:-} to allow an empty value)',
    );
    expect(() => parseConfig(document, { TOPIC: '' } as NodeJS.ProcessEnv)).toThrow(
      'comparisons[0].live.kafka.topic: ${TOPIC} is empty',
    );
    const token = parseConfig({ server: { adminToken: '${TOKEN:-}' } }, {} as NodeJS.ProcessEnv);
    expect(token.server.adminToken).toBe('');
  });

  it('throws ShadowdiffErrors with code SD_CONFIG_INVALID', () => {
    for (const document of [minimal({ window: { size: '0s' } }), minimal({ key: '${KEY}' })]) {
      expect(() => parseConfig(document, {} as NodeJS.ProcessEnv)).toThrow(
        expect.objectContaining({ name: 'ShadowdiffError', code: 'SD_CONFIG_INVALID' }),
      );
    }
  });

  it('rejects a retention that would expire buffers of windows still due to close', () => {
    const config = (retention: string) => ({
      ...minimal({ window: { size: '1m', allowedLateness: '30s' } }),
      storage: { retention },
    });
    expect(() => parseConfig(config('3m'))).toThrow(
      'storage.retention: 3m is too short for comparisons[0]: it must be longer than twice its window size plus allowed lateness (180000 ms)',
    );
    expect(parseConfig(config('4m')).storage.retention).toBe('4m');
  });

  it('rejects unknown settings and duplicate ids', () => {
    expect(() => parseConfig({ server: { prot: 1 } })).toThrow('server.prot: unknown setting');
    const twice = minimal();
    twice.comparisons.push(twice.comparisons[0]!);
    expect(() => parseConfig(twice)).toThrow('comparisons[1].id: duplicate comparison id orders-v2');
  });

  it('interpolates environment variables with defaults and converts types', () => {
    const config = parseConfig({ server: { port: '${PORT:-9090}', adminToken: '${TOKEN}' } }, {
      TOKEN: 's3cret',
    } as NodeJS.ProcessEnv);
    expect(config.server.port).toBe(9090);
    expect(config.server.adminToken).toBe('s3cret');
    expect(interpolateEnv('${A:-x}-${B}', { B: 'y' } as NodeJS.ProcessEnv)).toBe('x-y');
  });

  it('reads the read token from the environment; unset, records stay open', () => {
    const document = { server: { readToken: '${SHADOWDIFF_READ_TOKEN:-}' } };
    expect(parseConfig(document, { SHADOWDIFF_READ_TOKEN: 'r3ad' } as NodeJS.ProcessEnv).server.readToken).toBe('r3ad');
    expect(parseConfig(document, {} as NodeJS.ProcessEnv).server.readToken).toBe('');
    expect(parseConfig({}).server.readToken).toBe('');
  });

  it('takes redact as a list of paths, "*" for every value, or a lone path or "*" without a list', () => {
    expect(parseConfig(minimal()).comparisons[0]?.redact).toEqual([]);
    expect(parseConfig(minimal({ redact: '*' })).comparisons[0]?.redact).toEqual(['*']);
    expect(parseConfig(minimal({ redact: ['*'] })).comparisons[0]?.redact).toEqual(['*']);
    expect(parseConfig(minimal({ redact: 'customer.email' })).comparisons[0]?.redact).toEqual(['customer.email']);
    expect(() => parseConfig(minimal({ redact: [''] }))).toThrow(/^comparisons\[0\]\.redact\[0\]: /);
  });

  it('reads references inside flow mappings, as the README writes them', async () => {
    const path = files.write(
      'flow.yaml',
      `server: {host: 0.0.0.0, port: \${PORT:-9090}, adminToken: \${TOKEN:-}}
comparisons:
  - {id: orders, live: {kafka: {topic: \${TOPIC}}}, candidate: {kafka: {topic: 'v2-\${TOPIC}'}}, key: [id]}
`,
    );
    const config = await loadConfig(path, { TOPIC: 'orders' } as NodeJS.ProcessEnv);
    expect(config.server).toMatchObject({ port: 9090, adminToken: '' });
    expect(config.comparisons[0]?.live).toEqual({ kafka: { topic: 'orders', fromBeginning: true } });
    expect(config.comparisons[0]?.candidate).toEqual({ kafka: { topic: 'v2-orders', fromBeginning: true } });
    await expect(loadConfig(path, {} as NodeJS.ProcessEnv)).rejects.toThrow(
      'comparisons[0].live.kafka.topic: ${TOPIC} is not set',
    );
  });

  it('accepts an empty file: no comparisons (serve warns)', async () => {
    expect((await loadConfig(files.write('empty.yaml', ''))).comparisons).toEqual([]);
  });

  it('turns JSON pointers into dotted paths', () => {
    expect(pointerToPath('/comparisons/0/window/size')).toBe('comparisons[0].window.size');
  });
});
