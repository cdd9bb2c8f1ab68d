import { describe, expect, it } from 'vitest';
import { interpolateEnv, parseConfig, pointerToPath } from '../../src/config/load.js';

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

  it('turns JSON pointers into dotted paths', () => {
    expect(pointerToPath('/comparisons/0/window/size')).toBe('comparisons[0].window.size');
  });
});
