import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { buildServer } from '../../src/api/server.js';
import { runGate } from '../../src/cli/gate.js';
import { parseConfig } from '../../src/config/load.js';
import { Service } from '../../src/service/service.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Each gate's own decision logic, replayed against a running service with one PASS, one FAIL and
 * one INCONCLUSIVE comparison: what Flagger, Argo Rollouts, Spinnaker, Prometheus-based gates,
 * Kayenta-style judges and CI jobs decide from shadowdiff's answers.
 */
const files = tempDir();
let service: Service;
let app: FastifyInstance;
let base: string;

const rows = (n: number, changed: (i: number) => boolean) =>
  `${Array.from({ length: n }, (_, i) => JSON.stringify({ id: i, v: changed(i) ? -i : i })).join('\n')}\n`;

beforeAll(async () => {
  const live = files.write(
    'live.ndjson',
    rows(4000, () => false),
  );
  const same = files.write(
    'same.ndjson',
    rows(4000, () => false),
  );
  const worse = files.write(
    'worse.ndjson',
    rows(4000, (i) => i % 10 === 0),
  );
  const few = files.write(
    'few.ndjson',
    rows(20, () => false),
  );
  const comparison = (id: string, l: string, c: string) => ({
    id,
    live: { file: { path: l } },
    candidate: { file: { path: c } },
    key: ['id'],
    verdict: { tolerance: 0.01, minSamples: 100 },
  });
  service = await Service.start(
    parseConfig({
      storage: { path: `${files.dir}/gates.duckdb` },
      comparisons: [comparison('good', live, same), comparison('bad', live, worse), comparison('unsure', few, few)],
    }),
    pino({ level: 'silent' }),
  );
  await waitFor(() => service.list().every((runner) => runner.verdict().complete), 30_000, 'all comparisons complete');
  app = buildServer({
    registry: service,
    adminToken: '',
    metrics: { contentType: service.promRegistry.contentType, render: () => service.promRegistry.metrics() },
    logger: false,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await app?.close();
  await service?.stop();
  files.remove();
});

const example = (path: string) => new URL(`../../examples/${path}`, import.meta.url);

describe('Flagger webhooks (status ≤ 202 is success)', () => {
  const flaggerBody = {
    name: 'podinfo',
    namespace: 'test',
    phase: 'Progressing',
    checksum: 'abc',
    metadata: { comparison: 'x' },
  };
  const canary = parseYaml(readFileSync(example('flagger/canary.yaml'), 'utf8')) as {
    spec: { analysis: { webhooks: { type: string; url: string }[] } };
  };
  const hook = (type: string) => new URL(canary.spec.analysis.webhooks.find((w) => w.type === type)!.url).pathname;

  async function flagger(
    type: string,
    comparison: string,
  ): Promise<{ ok: boolean; status: number; retryAfter: string | null }> {
    const path = hook(type).replace('orders-v2', comparison);
    const response = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(flaggerBody),
    });
    await response.arrayBuffer();
    return { ok: response.status <= 202, status: response.status, retryAfter: response.headers.get('retry-after') };
  }

  it('confirm-promotion promotes only on PASS', async () => {
    expect(await flagger('confirm-promotion', 'good')).toMatchObject({ ok: true, status: 200 });
    expect(await flagger('confirm-promotion', 'bad')).toMatchObject({ ok: false, status: 409 });
    const unsure = await flagger('confirm-promotion', 'unsure');
    expect(unsure).toMatchObject({ ok: false, status: 503 });
    expect(Number(unsure.retryAfter)).toBeGreaterThan(0);
  });

  it('the rollout hook rolls back only on FAIL', async () => {
    expect((await flagger('rollout', 'good')).ok).toBe(true);
    expect((await flagger('rollout', 'unsure')).ok).toBe(true);
    expect(await flagger('rollout', 'bad')).toMatchObject({ ok: false, status: 409 });
  });
});

describe('Argo Rollouts web provider', () => {
  const template = parseYaml(readFileSync(example('argo-rollouts/analysis-template.yaml'), 'utf8')) as {
    spec: {
      metrics: {
        successCondition: string;
        failureCondition: string;
        provider: { web?: { url: string; jsonPath: string } };
      }[];
    };
  };
  const metric = template.spec.metrics.find((m) => m.provider.web)!;

  /** Argo: non-2xx is an Error; jsonPath picks `result`; the conditions decide. */
  async function argo(comparison: string): Promise<string> {
    const url = metric.provider
      .web!.url.replace('{{args.shadowdiff-url}}', base)
      .replace('{{args.comparison}}', comparison);
    const response = await fetch(url);
    if (response.status < 200 || response.status > 299) return 'Error';
    const body = (await response.json()) as Record<string, unknown>;
    const path = /^\{\$\.(\w+)\}$/.exec(metric.provider.web!.jsonPath)![1]!;
    const result = body[path];
    const holds = (condition: string) => {
      const [, expected] = /^result == "(\w+)"$/.exec(condition) ?? [];
      return result === expected;
    };
    if (holds(metric.failureCondition)) return 'Failed';
    if (holds(metric.successCondition)) return 'Successful';
    return 'Inconclusive';
  }

  it('decides Successful, Failed and Inconclusive', async () => {
    expect(await argo('good')).toBe('Successful');
    expect(await argo('bad')).toBe('Failed');
    expect(await argo('unsure')).toBe('Inconclusive');
  });
});

describe('Spinnaker webhook stage', () => {
  const stage = JSON.parse(readFileSync(example('spinnaker/webhook-stage.json'), 'utf8')) as {
    url: string;
    statusJsonPath: string;
    successStatuses: string;
    terminalStatuses: string;
  };

  async function spinnaker(comparison: string): Promise<string> {
    const response = await fetch(`${base}${new URL(stage.url).pathname.replace('orders-v2', comparison)}`);
    const body = (await response.json()) as Record<string, unknown>;
    const status = body[stage.statusJsonPath.replace('$.', '')];
    expect(typeof status).toBe('string');
    const upper = String(status).toUpperCase();
    if (stage.successStatuses.split(',').includes(upper)) return 'SUCCEEDED';
    if (stage.terminalStatuses.split(',').includes(upper)) return 'TERMINAL';
    return 'RUNNING';
  }

  it('succeeds on PASS, stops on FAIL, keeps polling otherwise', async () => {
    expect(await spinnaker('good')).toBe('SUCCEEDED');
    expect(await spinnaker('bad')).toBe('TERMINAL');
    expect(await spinnaker('unsure')).toBe('RUNNING');
  });
});

describe('Prometheus, Kayenta-style scores and CI', () => {
  it('exports shadowdiff_verdict_code for every comparison', async () => {
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toContain('shadowdiff_verdict_code{comparison="good"} 1');
    expect(text).toContain('shadowdiff_verdict_code{comparison="bad"} -1');
    expect(text).toContain('shadowdiff_verdict_code{comparison="unsure"} 0');
  });

  it('orders scores so Kayenta thresholds (pass 75, marginal 50) agree with the verdict', async () => {
    const judge = async (comparison: string) => {
      const body = (await (await fetch(`${base}/v1/comparisons/${comparison}/verdict`)).json()) as {
        result: { judgeResult: { score: { score: number } } };
      };
      const score = body.result.judgeResult.score.score;
      return score >= 75 ? 'PASS' : score >= 50 ? 'MARGINAL' : 'FAIL';
    };
    expect(await judge('good')).toBe('PASS');
    expect(await judge('bad')).toBe('FAIL');
    expect(await judge('unsure')).toBe('MARGINAL');
  });

  it('shadowdiff gate exits 0, 1 and 2', async () => {
    const gate = (comparison: string) =>
      runGate({
        url: `${base}/v1/comparisons/${comparison}/verdict`,
        timeout: '300ms',
        interval: '50ms',
        log: () => {},
      });
    expect(await gate('good')).toBe(0);
    expect(await gate('bad')).toBe(1);
    expect(await gate('unsure')).toBe(2);
  });
});
