import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { KafkaAdmin, KafkaProducer, ProduceMessage } from '../../src/sources/kafka/client.js';
import { createKafkajsClient } from '../../src/sources/kafka/kafkajs-client.js';
import { type QueryAnswer, type RunningPrometheus, requireTool, startPrometheus } from '../helpers/prometheus.js';
import { freePort, startServe } from '../helpers/serve.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

/**
 * The dashboard and the alert rules against a real Prometheus that scrapes a real `shadowdiff
 * serve`: every panel query parses and has data, and the alerts fire on the comparisons built to
 * trip them and on no other.
 */

interface Target {
  refId: string;
  expr: string;
}
interface Panel {
  title: string;
  type: string;
  targets?: Target[];
  panels?: Panel[];
}

const root = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));
const dashboard = JSON.parse(readFileSync(root('dashboards/shadowdiff.json'), 'utf8'));
const panels: Panel[] = (dashboard.panels as Panel[]).flatMap((panel) => [panel, ...(panel.panels ?? [])]);
const targets = panels.flatMap((panel) => (panel.targets ?? []).map((target) => ({ panel, target })));
const RULES = root('examples/prometheus/shadowdiff-alerts.yaml');

/** Kafka on every side, so the consumer-lag and decode-error panels have data too. */
const KAFKA = 'orders-kafka';
/** Half the candidate's amounts differ: FAIL within a few windows. */
const FAILING = 'orders-fail';
/** Windows longer than the test: records arrive, no window closes (a watermark standing still looks the same). */
const STALLED = 'orders-stalled';

/**
 * What Grafana puts in for its built-in variables on a 15-minute dashboard: a 9 s step, and
 * `$__rate_interval` = max($__interval + scrape interval, 4 × scrape interval) at 1 s scrapes.
 */
const GRAFANA: Record<string, string> = {
  __interval: '9s',
  __interval_ms: '9000',
  __rate_interval: '10s',
  __range: '15m',
  __range_s: '900',
  __range_ms: '900000',
};

/** A panel query as Grafana sends it for one selected comparison (ids here need no regex escaping). */
function render(expr: string, comparison: string): string {
  return expr.replace(/\$\{?(\w+)\}?/g, (variable, name: string) => {
    if (name === 'comparison') return comparison;
    const value = GRAFANA[name];
    if (value === undefined) throw new Error(`no value for ${variable} in ${expr}`);
    return value;
  });
}

const brokers = inject('kafkaBrokers');
const files = tempDir('shadowdiff-prometheus-');
const suffix = randomUUID().slice(0, 8);
const topics = {
  live: `prom-live-${suffix}`,
  candidate: `prom-candidate-${suffix}`,
  control: `prom-control-${suffix}`,
};
let admin: KafkaAdmin | undefined;
let producer: KafkaProducer | undefined;
let producing: Promise<void> | undefined;
let stopProducing = false;
let serve: ChildProcess | undefined;
let prometheus: RunningPrometheus | undefined;

/**
 * Orders at the wall clock on every side, 100 a second: the candidate changes 1 amount in 40 and
 * sends one malformed message per batch; `processed_at` differs on every side, so the control side
 * shows it is noise.
 */
async function produceOrders(): Promise<void> {
  let next = 0;
  while (!stopProducing) {
    const batch: Record<keyof typeof topics, ProduceMessage[]> = { live: [], candidate: [], control: [] };
    const now = Date.now();
    for (let n = 0; n < 20; n++, next++) {
      const order = { order_id: `o-${next}`, event_time: new Date(now).toISOString(), amount: next % 1000 };
      for (const side of ['live', 'candidate', 'control'] as const) {
        const amount = side === 'candidate' && next % 40 === 0 ? order.amount + 1 : order.amount;
        const value = JSON.stringify({ ...order, amount, processed_at: `${side}-${randomUUID()}` });
        batch[side].push({ key: order.order_id, value });
      }
    }
    batch.candidate.push({ key: 'broken', value: '{"order_id": ' });
    await Promise.all(
      (Object.keys(topics) as (keyof typeof topics)[]).map((side) => producer?.send(topics[side], batch[side])),
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function serveConfig(port: number): string {
  const kafkaSide = (side: keyof typeof topics) => ({
    kafka: { topic: topics[side], groupId: `prom-${suffix}-${side}` },
  });
  const simulate = (differenceRate = 0) => ({ simulate: { ratePerSecond: 100, differenceRate } });
  const common = { format: 'json', key: ['order_id'], time: { field: 'event_time' } };
  return JSON.stringify({
    server: { host: '127.0.0.1', port },
    storage: { path: `${files.dir}/shadowdiff.duckdb`, memoryLimit: '256MB' },
    kafka: { brokers: brokers.split(','), clientId: 'shadowdiff-prometheus-test' },
    comparisons: [
      {
        id: KAFKA,
        live: kafkaSide('live'),
        candidate: kafkaSide('candidate'),
        control: kafkaSide('control'),
        ...common,
        window: { size: '1s', allowedLateness: '500ms', idleTimeout: '10s' },
        verdict: { tolerance: 0.05, minSamples: 100, maxLagSeconds: 60 },
      },
      {
        id: FAILING,
        live: simulate(),
        candidate: simulate(0.5),
        ...common,
        window: { size: '1s', allowedLateness: '200ms' },
        verdict: { tolerance: 0.01, minSamples: 50 },
      },
      {
        id: STALLED,
        live: simulate(),
        candidate: simulate(),
        ...common,
        window: { size: '1h', allowedLateness: '1s' },
      },
    ],
  });
}

beforeAll(async () => {
  requireTool('prometheus');
  const client = createKafkajsClient({ brokers: brokers.split(','), clientId: 'shadowdiff-prometheus-test' });
  admin = await client.connectAdmin();
  await admin.createTopics(Object.values(topics).map((topic) => ({ topic, partitions: 1 })));
  producer = await client.connectProducer();
  producing = produceOrders();

  // Prometheus scrapes a target that is not up yet as readily as one that is: start both at once.
  const port = await freePort();
  const [served, scraping] = await Promise.allSettled([
    startServe(files.write('shadowdiff.json', serveConfig(port)), port),
    startPrometheus({ dir: files.dir, target: `127.0.0.1:${port}`, ruleFiles: [RULES] }),
  ]);
  // Keep whichever started, so afterAll stops it when the other failed.
  if (served.status === 'fulfilled') serve = served.value;
  if (scraping.status === 'fulfilled') prometheus = scraping.value;
  for (const started of [served, scraping]) if (started.status === 'rejected') throw started.reason;
});

afterAll(async () => {
  stopProducing = true;
  await prometheus?.stop();
  if (serve && serve.exitCode === null && serve.signalCode === null) {
    const exited = once(serve, 'exit');
    serve.kill('SIGKILL');
    await exited;
  }
  await producing;
  await producer?.disconnect();
  await admin?.disconnect();
  files.remove();
});

const hasData = (answer: QueryAnswer) =>
  answer.status === 'success' &&
  answer.result.length > 0 &&
  answer.result.every((sample) => Number.isFinite(Number(sample.value[1])));

describe('the dashboard on a real Prometheus', () => {
  it('offers every comparison in the comparison variable', async () => {
    // label_values(shadowdiff_verdict_code, comparison), as Grafana's Prometheus data source asks it.
    const path = `/api/v1/label/comparison/values?${new URLSearchParams({ 'match[]': 'shadowdiff_verdict_code' })}`;
    let values: string[] = [];
    await waitFor(
      async () => {
        values = (await prometheus!.get<{ data: string[] }>(path)).data;
        return values.length === 3;
      },
      60_000,
      'the three comparisons in Prometheus',
    );
    expect(values.sort()).toEqual([KAFKA, FAILING, STALLED].sort());
  });

  it('has data for every panel query', async () => {
    expect(targets.length).toBeGreaterThanOrEqual(15);
    const queries = targets.map(({ panel, target }) => ({
      what: `${panel.title} [${target.refId}]`,
      expr: render(target.expr, KAFKA),
    }));
    let answers: QueryAnswer[] = [];
    // Noise fields and closed-window rates need a few windows: wait until every panel has data,
    // or stop at once when a query does not parse; the assertions below name what is missing.
    await waitFor(
      async () => {
        answers = await Promise.all(queries.map(({ expr }) => prometheus!.query(expr)));
        return answers.some((answer) => answer.status === 'error') || answers.every(hasData);
      },
      90_000,
      'data in every panel',
    ).catch(() => undefined);
    for (const [i, { what, expr }] of queries.entries()) {
      const answer = answers[i]!;
      expect.soft(answer.error, `${what}: ${expr}`).toBeUndefined();
      expect.soft(answer.result.length, `${what} is empty: ${expr}`).toBeGreaterThan(0);
      for (const sample of answer.result) {
        expect.soft(Number.isFinite(Number(sample.value[1])), `${what}: ${JSON.stringify(sample)}`).toBe(true);
      }
    }
  });

  it('shows the failing comparison as FAIL', async () => {
    const verdict = targets.find(({ panel }) => panel.title === 'Verdict')!.target.expr;
    let answer: QueryAnswer = { status: 'success', result: [] };
    await waitFor(
      async () => {
        answer = await prometheus!.query(render(verdict, FAILING));
        return answer.result[0]?.value[1] === '-1';
      },
      60_000,
      `${FAILING} to FAIL in Prometheus`,
    ).catch(() => undefined);
    expect(answer.result.map((sample) => [sample.metric.comparison, sample.value[1]])).toEqual([[FAILING, '-1']]);
  });
});

describe('the alert rules on a real Prometheus', () => {
  it('alert on the comparisons built to trip them, and on no other', async () => {
    // Early on, before every side has a watermark and a window has closed, lag and stall alerts
    // are rightly pending for the healthy comparison too: wait for the steady state.
    const expected = [
      `ShadowdiffInvalidRecords ${KAFKA} candidate`,
      `ShadowdiffVerdictFail ${FAILING} -`,
      `ShadowdiffWindowsStalled ${STALLED} -`,
    ];
    let active: string[] = [];
    await waitFor(
      async () => {
        const answer = await prometheus!.query('ALERTS');
        active = answer.result
          .map(({ metric }) => `${metric.alertname} ${metric.comparison} ${metric.side ?? '-'}`)
          .sort();
        return JSON.stringify(active) === JSON.stringify(expected);
      },
      90_000,
      'the expected alerts',
    ).catch(() => undefined);
    expect(active).toEqual(expected);
    // FAIL pages at once; the others wait for their `for:` and are pending here.
    const firing = await prometheus!.query('ALERTS{alertstate="firing"}');
    expect(firing.result.map(({ metric }) => metric.alertname)).toEqual(['ShadowdiffVerdictFail']);
  });
});
