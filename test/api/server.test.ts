import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { routeFor, routes } from '../../src/api/paths.js';
import { buildServer } from '../../src/api/server.js';
import { parseComparison } from '../../src/config/load.js';
import { ShadowdiffError } from '../../src/errors.js';
import type { Verdict } from '../../src/verdict/verdict.js';
import { type FakeComparison, FakeRegistry, SAMPLES, verdictBody, WINDOWS } from './fake-registry.js';

const TOKEN = 'admin-s3cret-token';
const FLAGGER_BODY = JSON.stringify({ name: 'podinfo', namespace: 'test', phase: 'Progressing', metadata: {} });
const METRICS_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
const METRICS_TEXT =
  '# HELP shadowdiff_verdict_code verdict\n# TYPE shadowdiff_verdict_code gauge\nshadowdiff_verdict_code{comparison="orders-v2"} 1\n';

function comparisonConfig(id = 'orders-v2') {
  return parseComparison({
    id,
    live: { file: { path: 'https://alice:pw123@files.example.com/live.ndjson?token=abc&page=2' } },
    candidate: { kafka: { topic: 'orders-v2' } },
    key: ['order_id'],
  });
}

const auth = { authorization: `Bearer ${TOKEN}` };

let registry: FakeRegistry;
let orders: FakeComparison;
let storageOpen: boolean;
let app: FastifyInstance;

function build(adminToken = TOKEN, logger?: pino.Logger): FastifyInstance {
  return buildServer({
    registry,
    adminToken,
    metrics: { contentType: METRICS_TYPE, render: async () => METRICS_TEXT },
    storageReady: () => storageOpen,
    ...(logger ? { logger } : {}),
  });
}

beforeEach(() => {
  registry = new FakeRegistry();
  orders = registry.add(comparisonConfig());
  storageOpen = true;
  app = build();
});

afterEach(async () => {
  await app.close();
});

describe('probes', () => {
  it('healthz answers 200 while running', async () => {
    const response = await app.inject({ method: 'GET', url: routes.healthz });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok' });
  });

  it('readyz is 200 when storage is open and every source is connected', async () => {
    const response = await app.inject({ method: 'GET', url: routes.readyz });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ ready: true, reasons: [] });
  });

  it('readyz is 503 with every reason otherwise', async () => {
    storageOpen = false;
    registry.ready = { ready: false, reasons: ['orders-v2: candidate source not connected'] };
    const response = await app.inject({ method: 'GET', url: routes.readyz });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toEqual({
      ready: false,
      reasons: ['storage is not open', 'orders-v2: candidate source not connected'],
    });
  });

  it('readyz is 503 when only storage is closed', async () => {
    storageOpen = false;
    const response = await app.inject({ method: 'GET', url: routes.readyz });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toEqual({ ready: false, reasons: ['storage is not open'] });
  });

  it('metrics serves the Prometheus text unchanged with its content type', async () => {
    const response = await app.inject({ method: 'GET', url: routes.metrics });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe(METRICS_TYPE);
    expect(response.body).toBe(METRICS_TEXT);
  });
});

describe('reading comparisons', () => {
  it('lists id, state and verdict', async () => {
    registry.add(comparisonConfig('payments')).current = 'FAIL';
    registry.get('payments')!.state = { ...registry.get('payments')!.state, state: 'failed' };
    const response = await app.inject({ method: 'GET', url: routes.comparisons });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      items: [
        { id: 'orders-v2', state: 'running', verdict: 'INCONCLUSIVE' },
        { id: 'payments', state: 'failed', verdict: 'FAIL' },
      ],
    });
  });

  it('shows the config with credentials masked and runtime watermarks as ISO strings', async () => {
    orders.state = { ...orders.state, state: 'failed', error: 'cannot reach https://bob:hunter2@broker:9093' };
    const response = await app.inject({ method: 'GET', url: routeFor(routes.comparison, 'orders-v2') });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.id).toBe('orders-v2');
    expect(body.state).toBe('failed');
    expect(body.verdict).toBe('INCONCLUSIVE');
    expect(body.config.live).toEqual({
      file: { path: 'https://***@files.example.com/live.ndjson?token=***&page=2', follow: false },
    });
    expect(body.config.candidate).toEqual({ kafka: { topic: 'orders-v2', fromBeginning: true } });
    expect(body.config.window).toEqual({ size: '1m', allowedLateness: '30s', idleTimeout: '2m' });
    expect(body.config.key).toEqual(['order_id']);
    expect(response.body).not.toContain('pw123');
    expect(response.body).not.toContain('hunter2');
    expect(body.runtime).toEqual({
      epoch: 2,
      epochStartedAt: '2024-05-01T11:00:00.000Z',
      openWindows: 3,
      closedWindows: 57,
      sampleRate: 0.5,
      error: 'cannot reach https://***@broker:9093',
      sides: {
        live: {
          watermark: '2024-05-01T11:59:00.000Z',
          lagSeconds: 0,
          consumerLag: 12,
          connected: true,
          endOfInput: false,
        },
        candidate: { watermark: null, lagSeconds: 90, consumerLag: null, connected: false, endOfInput: false },
        control: { watermark: null, lagSeconds: 0, consumerLag: 0, connected: true, endOfInput: true },
      },
    });
  });

  it('shows a lag that is not a finite number as null', async () => {
    const candidate = { watermark: null, lagSeconds: Number.POSITIVE_INFINITY, consumerLag: Number.NaN };
    orders.state = { ...orders.state, sides: { candidate: { ...candidate, connected: true, endOfInput: false } } };
    const response = await app.inject({ method: 'GET', url: routeFor(routes.comparison, 'orders-v2') });
    expect(response.statusCode).toBe(200);
    expect(response.json().runtime.sides).toEqual({
      candidate: { watermark: null, lagSeconds: null, consumerLag: null, connected: true, endOfInput: false },
    });
  });

  it('masks values under secret-looking keys in the config', async () => {
    const config = { ...comparisonConfig('with-secrets'), sasl: { username: 'u', password: 'p4ss' }, apiToken: 'tkn' };
    registry.add(config as ReturnType<typeof comparisonConfig>);
    const response = await app.inject({ method: 'GET', url: routeFor(routes.comparison, 'with-secrets') });
    expect(response.statusCode).toBe(200);
    expect(response.json().config.sasl).toBe('***');
    expect(response.json().config.apiToken).toBe('***');
    expect(response.body).not.toContain('p4ss');
  });

  it.each(['PASS', 'FAIL', 'INCONCLUSIVE'] as Verdict[])('answers 200 with the %s verdict body', async (verdict) => {
    orders.current = verdict;
    const response = await app.inject({ method: 'GET', url: routeFor(routes.verdict, 'orders-v2') });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual(verdictBody('orders-v2', verdict));
  });

  it('summarizes the current epoch', async () => {
    const response = await app.inject({ method: 'GET', url: routeFor(routes.summary, 'orders-v2') });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual(await orders.summary());
  });

  it('pages windows: 50 by default', async () => {
    const response = await app.inject({ method: 'GET', url: routeFor(routes.windows, 'orders-v2') });
    expect(response.statusCode).toBe(200);
    expect(orders.lastWindowsPage).toEqual({ limit: 50, offset: 0 });
    expect(response.json()).toEqual({ total: 75, items: WINDOWS.slice(0, 50) });
  });

  it('pages windows with limit and offset', async () => {
    const url = `${routeFor(routes.windows, 'orders-v2')}?limit=10&offset=70`;
    const response = await app.inject({ method: 'GET', url });
    expect(orders.lastWindowsPage).toEqual({ limit: 10, offset: 70 });
    expect(response.json()).toEqual({ total: 75, items: WINDOWS.slice(70) });
  });

  it.each([
    ['limit=1001', 'querystring/limit must be <= 1000'],
    ['limit=0', 'querystring/limit must be >= 1'],
    ['limit=ten', 'querystring/limit must be an integer from 1 to 1000 in decimal digits, not "ten"'],
    ['offset=-1', 'querystring/offset must be >= 0'],
    // Before, Ajv's coercion let these through as Infinity or past BIGINT, and the store answered 500.
    ['limit=Infinity', 'querystring/limit must be an integer from 1 to 1000 in decimal digits, not "Infinity"'],
    ['limit=1e400', 'querystring/limit must be an integer from 1 to 1000 in decimal digits, not "1e400"'],
    ['limit=1e3', 'querystring/limit must be an integer from 1 to 1000 in decimal digits, not "1e3"'],
    ['limit=0x10', 'querystring/limit must be an integer from 1 to 1000 in decimal digits, not "0x10"'],
    ['limit=', 'querystring/limit must be an integer from 1 to 1000 in decimal digits, not ""'],
    ['offset=1e20', 'querystring/offset must be an integer from 0 to 9007199254740991 in decimal digits, not "1e20"'],
    [
      'offset=100000000000000000000',
      'querystring/offset must be an integer from 0 to 9007199254740991 in decimal digits, not "100000000000000000000"',
    ],
    [
      'offset=9007199254740992',
      'querystring/offset must be an integer from 0 to 9007199254740991 in decimal digits, not "9007199254740992"',
    ],
  ])('refuses windows?%s with 400', async (query, message) => {
    const response = await app.inject({ method: 'GET', url: `${routeFor(routes.windows, 'orders-v2')}?${query}` });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({ error: 'SD_API_BAD_REQUEST', message });
  });

  it('serves samples: 20 by default, noise after real differences, filtered by field and outcome', async () => {
    const all = await app.inject({ method: 'GET', url: routeFor(routes.samples, 'orders-v2') });
    expect(orders.lastSamplesFilter).toEqual({ field: undefined, outcome: undefined, noise: 'include', limit: 20 });
    expect(all.json()).toEqual({ items: SAMPLES });

    const url = `${routeFor(routes.samples, 'orders-v2')}?field=amount&outcome=different&limit=5`;
    const filtered = await app.inject({ method: 'GET', url });
    expect(filtered.statusCode).toBe(200);
    expect(orders.lastSamplesFilter).toEqual({ field: 'amount', outcome: 'different', noise: 'include', limit: 5 });
    expect(filtered.json()).toEqual({ items: [SAMPLES[0]] });

    await app.inject({ method: 'GET', url: `${routeFor(routes.samples, 'orders-v2')}?noise=only` });
    expect(orders.lastSamplesFilter).toMatchObject({ noise: 'only' });
    const bad = await app.inject({ method: 'GET', url: `${routeFor(routes.samples, 'orders-v2')}?noise=yes` });
    expect(bad.statusCode).toBe(400);
  });

  it('refuses an unknown sample outcome and a limit above 1000', async () => {
    const base = routeFor(routes.samples, 'orders-v2');
    const outcome = await app.inject({ method: 'GET', url: `${base}?outcome=equal` });
    expect(outcome.statusCode).toBe(400);
    expect(outcome.json().error).toBe('SD_API_BAD_REQUEST');
    expect(outcome.json().message).toMatch(/^querystring\/outcome /);
    const limit = await app.inject({ method: 'GET', url: `${base}?limit=1001` });
    expect(limit.statusCode).toBe(400);
    expect(limit.json()).toEqual({ error: 'SD_API_BAD_REQUEST', message: 'querystring/limit must be <= 1000' });
    const infinite = await app.inject({ method: 'GET', url: `${base}?limit=1e400` });
    expect(infinite.statusCode).toBe(400);
    expect(infinite.json()).toEqual({
      error: 'SD_API_BAD_REQUEST',
      message: 'querystring/limit must be an integer from 1 to 1000 in decimal digits, not "1e400"',
    });
  });

  it.each([routes.comparison, routes.verdict, routes.summary, routes.windows, routes.samples])(
    '%s answers 404 JSON for an unknown id',
    async (route) => {
      const response = await app.inject({ method: 'GET', url: routeFor(route, 'nope') });
      expect(response.statusCode).toBe(404);
      expect(response.headers['content-type']).toMatch(/^application\/json/);
      expect(response.json()).toEqual({ error: 'SD_API_NOT_FOUND', message: 'unknown comparison nope' });
    },
  );

  it('answers one sample by its id, and 404 JSON for an unknown sample id', async () => {
    const url = (id: string) => routeFor(routes.sample, 'orders-v2').replace(':sampleId', id);
    const known = await app.inject({ method: 'GET', url: url('s-amount') });
    expect(known.statusCode).toBe(200);
    expect(known.json()).toEqual(SAMPLES[0]);
    const unknown = await app.inject({ method: 'GET', url: url('s-unknown') });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toEqual({
      error: 'SD_API_NOT_FOUND',
      message: 'no sample s-unknown in comparison orders-v2',
    });
  });

  it('answers 400 for an id that can never name a comparison', async () => {
    const response = await app.inject({ method: 'GET', url: routeFor(routes.verdict, 'Bad Id!') });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({
      error: 'SD_API_BAD_REQUEST',
      message: 'params/id must match pattern "^[a-z0-9][a-z0-9._-]{0,63}$"',
    });
  });
});

describe('gates', () => {
  const promote = routeFor(routes.gatePromote, 'orders-v2');
  const regression = routeFor(routes.gateRegression, 'orders-v2');
  const cases: [string, Verdict, number][] = [
    [promote, 'PASS', 200],
    [promote, 'FAIL', 409],
    [promote, 'INCONCLUSIVE', 503],
    [regression, 'PASS', 200],
    [regression, 'FAIL', 409],
    [regression, 'INCONCLUSIVE', 200],
  ];

  for (const method of ['GET', 'POST'] as const) {
    it.each(cases)(`${method} %s with %s answers %i and the verdict body`, async (url, verdict, status) => {
      orders.current = verdict;
      const response = await app.inject({
        method,
        url,
        ...(method === 'POST' ? { payload: FLAGGER_BODY, headers: { 'content-type': 'application/json' } } : {}),
      });
      expect(response.statusCode).toBe(status);
      expect(response.json()).toEqual(verdictBody('orders-v2', verdict));
      expect(response.headers['retry-after']).toBe(url === promote && verdict === 'INCONCLUSIVE' ? '30' : undefined);
    });
  }

  it.each([
    ['empty JSON body', { 'content-type': 'application/json' }, ''],
    ['malformed JSON', { 'content-type': 'application/json' }, '{"name":'],
    ['JSON null', { 'content-type': 'application/json' }, 'null'],
    ['a form body', { 'content-type': 'application/x-www-form-urlencoded' }, 'a=1&b=2'],
    ['an XML body', { 'content-type': 'text/xml' }, '<hook/>'],
    ['a malformed content type', { 'content-type': 'not a media type;;' }, '{}'],
    ['no content type', {}, 'whatever'],
    ['a 3 MiB body', { 'content-type': 'application/json' }, `{"pad":"${'x'.repeat(3 * 1024 * 1024)}"}`],
  ] as [string, Record<string, string>, string][])('POST promote ignores %s', async (_name, headers, payload) => {
    orders.current = 'PASS';
    const response = await app.inject({ method: 'POST', url: promote, headers, payload });
    expect(response.statusCode).toBe(200);
    expect(response.json().verdict).toBe('PASS');
  });

  it('POST regression ignores a body it cannot parse', async () => {
    orders.current = 'FAIL';
    const response = await app.inject({
      method: 'POST',
      url: regression,
      headers: { 'content-type': 'application/json' },
      payload: '][',
    });
    expect(response.statusCode).toBe(409);
    expect(response.json().verdict).toBe('FAIL');
  });

  it('answers 404 JSON for an unknown comparison', async () => {
    const response = await app.inject({
      method: 'POST',
      url: routeFor(routes.gatePromote, 'nope'),
      headers: { 'content-type': 'application/json' },
      payload: FLAGGER_BODY,
    });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({ error: 'SD_API_NOT_FOUND', message: 'unknown comparison nope' });
  });
});

describe('creating comparisons', () => {
  const body = {
    id: 'checkout',
    live: { kafka: { topic: 'checkout' } },
    candidate: { kafka: { topic: 'checkout-v2' } },
    key: ['id'],
  };

  it('creates with the admin token: 201 and the comparison, defaults applied', async () => {
    const response = await app.inject({ method: 'POST', url: routes.comparisons, headers: auth, payload: body });
    expect(response.statusCode).toBe(201);
    expect(registry.created).toEqual([parseComparison(body)]);
    const created = response.json();
    expect(created.id).toBe('checkout');
    expect(created.state).toBe('running');
    expect(created.verdict).toBe('INCONCLUSIVE');
    expect(created.config).toEqual(parseComparison(body));
  });

  it('answers 409 when the id exists', async () => {
    const response = await app.inject({
      method: 'POST',
      url: routes.comparisons,
      headers: auth,
      payload: { ...body, id: 'orders-v2' },
    });
    expect(response.statusCode).toBe(409);
    expect(response.json()).toEqual({ error: 'SD_API_CONFLICT', message: 'comparison orders-v2 exists' });
  });

  it.each([
    [{ ...body, window: { size: 'soon' } }, 'window.size: expected a duration like 1m'],
    [{ ...body, verdict: { tolerance: 2 } }, 'verdict.tolerance: expected number to be less or equal to 1'],
    [{ ...body, colour: 'blue' }, 'colour: unknown setting'],
    [{ ...body, key: [] }, 'key: expected array length to be greater or equal to 1'],
    [{ ...body, format: 'avro-schema' }, 'schema: required when format is avro-schema'],
    [[1, 2], '(root): expected an object'],
    [{ ...body, window: { size: '0s' } }, 'window.size: must be greater than 0'],
    [{ ...body, live: { kafka: { topic: {} } } }, 'live.kafka.topic: expected a string'],
  ])('refuses an invalid config with 400 naming the path (%#)', async (payload, message) => {
    const response = await app.inject({ method: 'POST', url: routes.comparisons, headers: auth, payload });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({ error: 'SD_CONFIG_INVALID', message });
    expect(registry.created).toEqual([]);
  });

  it('answers 400 JSON to malformed JSON', async () => {
    const response = await app.inject({
      method: 'POST',
      url: routes.comparisons,
      headers: { ...auth, 'content-type': 'application/json' },
      payload: '{"id": "x",',
    });
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(response.json().error).toBe('SD_API_BAD_REQUEST');
    expect(response.json().message).toMatch(/JSON/);
  });

  it('answers 400 JSON to an empty JSON body', async () => {
    const response = await app.inject({
      method: 'POST',
      url: routes.comparisons,
      headers: { ...auth, 'content-type': 'application/json' },
      payload: '',
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toBe('SD_API_BAD_REQUEST');
  });

  it('answers 400 when there is no body at all', async () => {
    const response = await app.inject({ method: 'POST', url: routes.comparisons, headers: auth });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({ error: 'SD_CONFIG_INVALID', message: '(root): expected an object' });
  });

  it('answers 415 JSON to a body that is not JSON', async () => {
    const response = await app.inject({
      method: 'POST',
      url: routes.comparisons,
      headers: { ...auth, 'content-type': 'application/yaml' },
      payload: 'id: x',
    });
    expect(response.statusCode).toBe(415);
    expect(response.json().error).toBe('SD_API_BAD_REQUEST');
  });
});

describe('deleting and resetting', () => {
  it('deletes with 204 and then answers 404', async () => {
    const url = routeFor(routes.comparison, 'orders-v2');
    const deleted = await app.inject({ method: 'DELETE', url, headers: auth });
    expect(deleted.statusCode).toBe(204);
    expect(deleted.body).toBe('');
    expect(registry.get('orders-v2')).toBeUndefined();
    const again = await app.inject({ method: 'DELETE', url, headers: auth });
    expect(again.statusCode).toBe(404);
    expect(again.json()).toEqual({ error: 'SD_API_NOT_FOUND', message: 'unknown comparison orders-v2' });
  });

  it('deletes even when the client sends a JSON content type without a body', async () => {
    const response = await app.inject({
      method: 'DELETE',
      url: routeFor(routes.comparison, 'orders-v2'),
      headers: { ...auth, 'content-type': 'application/json' },
    });
    expect(response.statusCode).toBe(204);
  });

  it('resets: 200 with the new verdict', async () => {
    orders.current = 'FAIL';
    const response = await app.inject({
      method: 'POST',
      url: routeFor(routes.reset, 'orders-v2'),
      headers: { ...auth, 'content-type': 'application/json' },
      payload: '',
    });
    expect(response.statusCode).toBe(200);
    expect(orders.resets).toBe(1);
    expect(response.json()).toEqual(verdictBody('orders-v2', 'INCONCLUSIVE'));
  });

  it('answers 404 when resetting an unknown comparison', async () => {
    const response = await app.inject({ method: 'POST', url: routeFor(routes.reset, 'nope'), headers: auth });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({ error: 'SD_API_NOT_FOUND', message: 'unknown comparison nope' });
  });
});

describe('changing the scope', () => {
  const put = (payload: string, id = 'orders-v2', headers: Record<string, string> = auth) =>
    app.inject({
      method: 'PUT',
      url: routeFor(routes.scope, id),
      headers: { ...headers, 'content-type': 'application/json' },
      payload,
    });

  it('answers the new epoch and the scope in words; the body is validated as the config is', async () => {
    const response = await put(JSON.stringify({ field: 'tenant', in: ['acme'] }));
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      comparison: 'orders-v2',
      changed: true,
      epoch: orders.state.epoch + 1,
      epochStartedAt: orders.state.epochStartedAt,
      scope: 'tenant in ["acme"]; records outside it are out of scope',
    });
    expect(registry.scopes).toEqual([{ field: 'tenant', in: ['acme'], candidateOnly: false }]);
  });

  it('removes the scope with null', async () => {
    const response = await put('null');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      comparison: 'orders-v2',
      changed: true,
      epoch: orders.state.epoch + 1,
      epochStartedAt: orders.state.epochStartedAt,
    });
    expect(registry.scopes).toEqual([null]);
  });

  it.each([
    [{ keyRange: [0, 2] }, 'scope.keyRange[1]: expected number to be less or equal to 1'],
    [
      { partitions: [0, -1] },
      'scope.partitions: expected a list of Kafka partitions, or one per side ({live: [...], candidate: [...]})',
    ],
    [{ partitions: { live: [0] } }, 'scope.partitions.candidate: required'],
    [{ field: 'tenant', in: [['acme']] }, 'scope.in[0]: expected a string, a number or true/false'],
    [{ tenant: 'acme' }, 'scope.tenant: unknown setting'],
    [{ candidateOnly: 'yes' }, 'scope.candidateOnly: expected true or false'],
    ['acme', 'scope: expected an object, or null for no scope'],
    [[0, 1], 'scope: expected an object, or null for no scope'],
  ])('answers 400 naming the bad value of %j', async (body, message) => {
    const response = await put(JSON.stringify(body));
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({ error: 'SD_CONFIG_INVALID', message });
    expect(registry.scopes).toEqual([]);
  });

  it('answers 400 to a body that is not JSON, and 404 for an unknown comparison', async () => {
    const malformed = await put('{"partitions": [0,');
    expect(malformed.statusCode).toBe(400);
    const unknown = await put(JSON.stringify({ partitions: [0] }), 'nope');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toEqual({ error: 'SD_API_NOT_FOUND', message: 'unknown comparison nope' });
    const badId = await put(JSON.stringify({ partitions: [0] }), 'Orders');
    expect(badId.statusCode).toBe(400);
    expect(badId.json()).toEqual({
      error: 'SD_API_BAD_REQUEST',
      message: "params/id Expected string to match '^[a-z0-9][a-z0-9._-]{0,63}$'",
    });
    expect(registry.scopes).toEqual([]);
  });
});

describe('admin token', () => {
  const mutations = [
    { method: 'POST' as const, url: routes.comparisons, payload: { id: 'x' } },
    { method: 'DELETE' as const, url: routeFor(routes.comparison, 'orders-v2') },
    { method: 'POST' as const, url: routeFor(routes.reset, 'orders-v2') },
    { method: 'PUT' as const, url: routeFor(routes.scope, 'orders-v2'), payload: { partitions: [0] } },
  ];

  it.each(mutations)('$method $url answers 401 without a token', async (request) => {
    const response = await app.inject(request);
    expect(response.statusCode).toBe(401);
    expect(response.headers['www-authenticate']).toBe('Bearer realm="shadowdiff"');
    expect(response.json()).toEqual({
      error: 'SD_API_UNAUTHORIZED',
      message: 'missing admin token: send Authorization: Bearer <token>',
    });
  });

  it.each([
    `Bearer ${TOKEN}x`,
    `Bearer ${TOKEN.slice(0, -1)}`,
    'Bearer ',
    `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}`,
    TOKEN,
  ])('answers 401 to Authorization: %s', async (authorization) => {
    const response = await app.inject({ ...mutations[1]!, headers: { authorization } });
    expect(response.statusCode).toBe(401);
    expect(response.json().error).toBe('SD_API_UNAUTHORIZED');
    expect(registry.get('orders-v2')).toBeDefined();
  });

  it('accepts the scheme in any case', async () => {
    const response = await app.inject({ ...mutations[1]!, headers: { authorization: `bearer ${TOKEN}` } });
    expect(response.statusCode).toBe(204);
  });

  it.each(mutations)('$method $url answers 403 when no token is configured, whatever is sent', async (request) => {
    await app.close();
    app = build('');
    for (const headers of [{}, { authorization: 'Bearer ' }, auth]) {
      const response = await app.inject({ ...request, headers });
      expect(response.statusCode).toBe(403);
      expect(response.json()).toEqual({
        error: 'SD_API_FORBIDDEN',
        message: 'no admin token configured (server.adminToken); mutating is off',
      });
    }
    expect(registry.get('orders-v2')).toBeDefined();
  });

  it('leaves read-only routes open', async () => {
    await app.close();
    app = build('');
    const response = await app.inject({ method: 'GET', url: routeFor(routes.gatePromote, 'orders-v2') });
    expect(response.statusCode).toBe(503);
  });
});

describe('errors', () => {
  it('answers 404 JSON for an unknown route', async () => {
    const response = await app.inject({ method: 'GET', url: '/v2/nothing?x=1' });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({ error: 'SD_API_NOT_FOUND', message: 'no route GET /v2/nothing?x=1' });
  });

  it.each([
    ['PUT', routeFor(routes.verdict, 'orders-v2'), 'GET, HEAD'],
    ['OPTIONS', routeFor(routes.verdict, 'orders-v2'), 'GET, HEAD'],
    ['PATCH', routes.comparisons, 'GET, HEAD, POST'],
    ['PUT', routeFor(routes.comparison, 'no-such-id'), 'DELETE, GET, HEAD'],
    ['DELETE', routeFor(routes.gatePromote, 'orders-v2'), 'GET, HEAD, POST'],
    ['GET', routeFor(routes.reset, 'orders-v2'), 'POST'],
    ['POST', `${routes.healthz}?x=1`, 'GET, HEAD'],
  ])('answers %s %s with 405 JSON and Allow: %s', async (method, url, allow) => {
    const response = await app.inject({ method: method as 'PUT', url });
    expect(response.statusCode).toBe(405);
    expect(response.headers.allow).toBe(allow);
    expect(response.json()).toEqual({
      error: 'SD_API_METHOD_NOT_ALLOWED',
      message: `${method} is not allowed on ${url}; allowed: ${allow}`,
    });
  });

  it('answers 404 for an unknown path whatever the method', async () => {
    for (const method of ['PUT', 'OPTIONS'] as const) {
      const response = await app.inject({ method, url: '/v1/comparisons/orders-v2/nothing' });
      expect(response.statusCode).toBe(404);
      expect(response.json().error).toBe('SD_API_NOT_FOUND');
    }
  });

  it('answers 400 JSON for a malformed URL', async () => {
    const response = await app.inject({ method: 'GET', url: '/v1/comparisons/%E0%A4%A' });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toBe('SD_API_BAD_REQUEST');
  });

  it('passes deliberate errors through with their code and status', async () => {
    orders.failSummary = new ShadowdiffError('SD_STORAGE', 'store is closed');
    const response = await app.inject({ method: 'GET', url: routeFor(routes.summary, 'orders-v2') });
    expect(response.statusCode).toBe(500);
    expect(response.json()).toEqual({ error: 'SD_STORAGE', message: 'store is closed' });
  });

  it('hides unexpected errors behind a generic 500 and keeps serving', async () => {
    orders.failSummary = new TypeError('cannot read properties of undefined at /srv/secret/path.js:12');
    const response = await app.inject({ method: 'GET', url: routeFor(routes.summary, 'orders-v2') });
    expect(response.statusCode).toBe(500);
    expect(response.json()).toEqual({ error: 'SD_API_INTERNAL', message: 'internal error; see the server log' });
    const health = await app.inject({ method: 'GET', url: routes.healthz });
    expect(health.statusCode).toBe(200);
  });
});

describe('logging', () => {
  function capture(): { logger: pino.Logger; lines: string[] } {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk, _encoding, callback) {
        lines.push(String(chunk));
        callback();
      },
    });
    return { logger: pino({ level: 'trace' }, stream), lines };
  }

  it('never writes the admin token, and logs server faults with details', async () => {
    const { logger, lines } = capture();
    await app.close();
    app = build(TOKEN, logger);
    orders.failSummary = new Error('disk on fire');
    const invalid = await app.inject({
      method: 'POST',
      url: routes.comparisons,
      headers: auth,
      payload: { id: 'Bad' },
    });
    expect(invalid.statusCode).toBe(400);
    const failed = await app.inject({ method: 'GET', url: routeFor(routes.summary, 'orders-v2'), headers: auth });
    expect(failed.statusCode).toBe(500);
    const deleted = await app.inject({
      method: 'DELETE',
      url: routeFor(routes.comparison, 'orders-v2'),
      headers: auth,
    });
    expect(deleted.statusCode).toBe(204);
    // Whoever logs request headers later gets them redacted too.
    app.log.info({ req: { headers: auth }, headers: auth }, 'headers logged on purpose');

    const log = lines.join('');
    expect(log).toContain('disk on fire');
    expect(log).toContain('headers logged on purpose');
    expect(log).not.toContain(TOKEN);
  });
});

describe('OpenAPI', () => {
  it('lists every route with its methods', async () => {
    const response = await app.inject({ method: 'GET', url: routes.openapi });
    expect(response.statusCode).toBe(200);
    const document = response.json();
    expect(document.openapi).toBe('3.1.0');
    const paths = Object.fromEntries(
      Object.entries(document.paths as Record<string, object>).map(([path, item]) => [path, Object.keys(item).sort()]),
    );
    const open = (route: string) => route.replace(':id', '{id}').replace(':sampleId', '{sampleId}');
    expect(paths).toEqual({
      [routes.ui]: ['get'],
      [routes.healthz]: ['get'],
      [routes.readyz]: ['get'],
      [routes.metrics]: ['get'],
      [routes.openapi]: ['get'],
      [routes.comparisons]: ['get', 'post'],
      [open(routes.comparison)]: ['delete', 'get'],
      [open(routes.verdict)]: ['get'],
      [open(routes.gatePromote)]: ['get', 'post'],
      [open(routes.gateRegression)]: ['get', 'post'],
      [open(routes.summary)]: ['get'],
      [open(routes.windows)]: ['get'],
      [open(routes.samples)]: ['get'],
      [open(routes.sample)]: ['get'],
      [open(routes.reset)]: ['post'],
      [open(routes.scope)]: ['put'],
    });
    const promote = document.paths[open(routes.gatePromote)].get;
    expect(Object.keys(promote.responses).sort()).toEqual(['200', '409', '4XX', '503', '5XX']);
    expect(document.paths[routes.comparisons].post.security).toEqual([{ adminToken: [] }]);
    // No server.readToken here: samples are open, and the document does not ask for a token.
    expect(document.paths[open(routes.samples)].get.security).toBeUndefined();
    const body = document.paths[routes.comparisons].post.requestBody.content['application/json'].schema;
    expect(body.required).toEqual(['id', 'live', 'candidate', 'key']);
    expect(body.properties.window.properties.size.default).toBe('1m');
    const query = document.paths[open(routes.windows)].get.parameters.filter((p: { in: string }) => p.in === 'query');
    expect(query).toEqual([
      {
        in: 'query',
        name: 'limit',
        required: false,
        schema: { type: 'integer', minimum: 1, maximum: 1000, default: 50 },
      },
      {
        in: 'query',
        name: 'offset',
        required: false,
        schema: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER, default: 0 },
      },
    ]);
  });
});
