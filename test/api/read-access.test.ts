import { Writable } from 'node:stream';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routeFor, routes } from '../../src/api/paths.js';
import { buildServer } from '../../src/api/server.js';
import { parseConfig } from '../../src/config/load.js';
import { Service } from '../../src/service/service.js';
import { streamTruth, truthComparison } from '../helpers/stream-data.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Read access through a real service over file sources: samples and dead letters (production
 * records) need `server.readToken` or the admin token; gates, verdicts, counts, field names,
 * windows and probes answer without one.
 */
const READ = 'rd-7f3a9c0e-token';
const ADMIN = 'adm-91b2e4d6-token';
const files = tempDir();
const truth = streamTruth(1500);
const live = files.write('live.ndjson', `${truth.live.join('\n')}\n`);
const candidate = files.write('candidate.ndjson', `${truth.candidate.join('\n')}\n`);

const logLines: string[] = [];
const logger = pino(
  { level: 'trace' },
  new Writable({
    write(chunk, _encoding, callback) {
      logLines.push(String(chunk));
      callback();
    },
  }),
);
/** Every answer of the tests, to show no token value is in any of them. */
const answers: LightMyRequestResponse[] = [];
let service: Service;
let app: FastifyInstance;

function comparison(id: string, redact: unknown) {
  return truthComparison(id, live, candidate, { redact });
}

async function get(url: string, authorization?: string, method: 'GET' | 'POST' | 'DELETE' = 'GET') {
  const response = await app.inject({ method, url, headers: authorization ? { authorization } : {} });
  answers.push(response);
  return response;
}

beforeAll(async () => {
  const config = parseConfig({
    server: { adminToken: ADMIN, readToken: READ },
    storage: { path: `${files.dir}/read-access.duckdb` },
    comparisons: [comparison('orders', ['amount', 't']), comparison('private', '*')],
  });
  service = await Service.start(config, logger);
  app = buildServer({
    registry: service,
    adminToken: ADMIN,
    readToken: READ,
    metrics: { contentType: service.promRegistry.contentType, render: () => service.promRegistry.metrics() },
    logger,
  });
  await waitFor(
    () => service.list().every((view) => view.verdict().complete),
    90_000,
    'both comparisons to read all input',
  );
}, 120_000);

afterAll(async () => {
  await app?.close();
  await service?.stop();
  files.remove();
});

const recordRoutes = (id: string) => [
  routeFor(routes.samples, id),
  `${routeFor(routes.samples, id)}?outcome=invalid`,
  `${routeFor(routes.samples, id)}?field=amount&limit=5`,
];

describe('routes that answer records', () => {
  const urls = [...recordRoutes('orders'), ...recordRoutes('private')];

  it.each(urls)('%s answers 401 with a Bearer challenge without a token', async (url) => {
    const response = await get(url);
    expect(response.statusCode).toBe(401);
    expect(response.headers['www-authenticate']).toBe('Bearer realm="shadowdiff"');
    expect(response.json()).toEqual({
      error: 'SD_API_UNAUTHORIZED',
      message: 'records need a token: send Authorization: Bearer <server.readToken or server.adminToken>',
    });
  });

  it.each(urls)('%s answers 401 invalid_token to a wrong token', async (url) => {
    for (const authorization of [`Bearer ${READ}x`, `Bearer ${READ.slice(0, -1)}`, `Bearer ${ADMIN}${READ}`]) {
      const response = await get(url, authorization);
      expect(response.statusCode).toBe(401);
      expect(response.headers['www-authenticate']).toBe('Bearer realm="shadowdiff", error="invalid_token"');
      expect(response.json()).toEqual({ error: 'SD_API_UNAUTHORIZED', message: 'wrong token' });
    }
    // Not a bearer token at all: as if none were sent.
    for (const authorization of [`Basic ${Buffer.from(`reader:${READ}`).toString('base64')}`, READ, 'Bearer ']) {
      const response = await get(url, authorization);
      expect(response.statusCode).toBe(401);
      expect(response.headers['www-authenticate']).toBe('Bearer realm="shadowdiff"');
    }
  });

  it.each(urls)('%s answers the samples to the read token and to the admin token', async (url) => {
    const read = await get(url, `Bearer ${READ}`);
    expect(read.statusCode).toBe(200);
    expect(read.json().items.length).toBeGreaterThan(0);
    const admin = await get(url, `bearer ${ADMIN}`);
    expect(admin.statusCode).toBe(200);
    expect(admin.json()).toEqual(read.json());
  });
});

describe('one sample with its record pair', () => {
  const sampleUrl = (id: string, sampleId: string) =>
    `${routeFor(routes.sample, id).replace(':sampleId', encodeURIComponent(sampleId))}`;
  const listed = async (id: string, query: string) =>
    (await get(`${routeFor(routes.samples, id)}?limit=1000${query}`, `Bearer ${READ}`)).json().items as Record<
      string,
      unknown
    >[];

  it('needs a token, answers each listed sample by its id with the whole pair redacted, and 404 for others', async () => {
    const first = (await listed('orders', '&field=amount'))[0] as Record<string, unknown>;
    expect(first.pair).toBeUndefined();
    const firstId = first.id as string;
    const url = sampleUrl('orders', firstId);
    expect((await get(url)).statusCode).toBe(401);
    const one = await get(url, `Bearer ${READ}`);
    expect(one.statusCode).toBe(200);
    const { pair, ...sample } = one.json();
    expect(sample).toEqual(first);
    // amount and t are redacted: the whole records show them masked too.
    expect(pair.fields).toContain('amount');
    for (const record of [pair.live, pair.candidate]) {
      expect(record).toMatchObject({ amount: '***', t: '***', id: sample.key });
    }
    for (const letter of await listed('orders', '&outcome=invalid')) {
      expect((await get(sampleUrl('orders', letter.id as string), `Bearer ${READ}`)).json()).toEqual(letter);
    }
    for (const unknown of ['s0123', 'd0123', firstId.replace(/.$/, 'x')]) {
      const response = await get(sampleUrl('orders', unknown), `Bearer ${READ}`);
      expect(response.statusCode).toBe(404);
      expect(response.json().error).toBe('SD_API_NOT_FOUND');
    }
    expect((await get(sampleUrl('nope', 's0'), `Bearer ${READ}`)).statusCode).toBe(404);
  });

  it('with redact "*" the whole pair shows not one value', async () => {
    const leaves = (value: unknown): unknown[] =>
      value !== null && typeof value === 'object' ? Object.values(value).flatMap(leaves) : [value];
    const differences = await listed('private', '&outcome=different');
    expect(differences.length).toBeGreaterThan(0);
    for (const listedSample of differences) {
      const { pair } = (await get(sampleUrl('private', listedSample.id as string), `Bearer ${READ}`)).json();
      expect(new Set([...leaves(pair.live), ...leaves(pair.candidate)])).toEqual(new Set(['***']));
    }
  });
});

describe('routes that stay open', () => {
  const promote = (id: string) => routeFor(routes.gatePromote, id);
  const regression = (id: string) => routeFor(routes.gateRegression, id);
  /** Method, path and status of every open route: gates, dashboards and probes need no credentials. */
  const open: [string, string, number][] = [
    // The diff explorer's page: it reads the routes below, and asks for the token for records.
    ['GET', routes.ui, 200],
    ['GET', routes.healthz, 200],
    ['GET', routes.readyz, 200],
    ['GET', routes.metrics, 200],
    ['GET', routes.openapi, 200],
    ['GET', routes.comparisons, 200],
    ['GET', routeFor(routes.comparison, 'orders'), 200],
    ['GET', routeFor(routes.verdict, 'orders'), 200],
    ['GET', promote('orders'), 409],
    ['POST', promote('orders'), 409],
    ['GET', regression('orders'), 409],
    ['POST', regression('orders'), 409],
    ['GET', routeFor(routes.summary, 'orders'), 200],
    ['GET', routeFor(routes.windows, 'orders'), 200],
  ];

  it.each(open)('%s %s answers %d without a token, and holds no record content', async (method, url, status) => {
    const response = await get(url, undefined, method as 'GET' | 'POST');
    expect(response.statusCode).toBe(status);
    // Keys and raw texts of the input never show on an open route; field names do.
    expect(response.body).not.toMatch(/"(r|new)-\d+"|broken|not json/);
  });

  it('shows field names and counts openly', async () => {
    const summary = (await get(routeFor(routes.summary, 'private'))).json();
    expect(summary.fields.map((f: { path: string }) => f.path)).toEqual(['amount']);
    expect(summary.counts).toMatchObject({
      different: truth.expected.different,
      invalidLive: truth.expected.invalidLive,
      invalidCandidate: truth.expected.invalidCandidate,
    });
  });

  it('the OpenAPI document marks the record routes, and only them, as needing a token', async () => {
    const document = (await get(routes.openapi)).json();
    expect(document.components.securitySchemes.readToken).toMatchObject({ type: 'http', scheme: 'bearer' });
    const guarded: string[] = [];
    const unguarded: string[] = [];
    for (const [path, operations] of Object.entries(document.paths as Record<string, Record<string, object>>)) {
      for (const [method, operation] of Object.entries(operations)) {
        const security = (operation as { security?: Record<string, string[]>[] }).security;
        const name = `${method.toUpperCase()} ${path}`;
        if (security === undefined) unguarded.push(name);
        else if (security.some((s) => 'readToken' in s)) {
          expect(security).toEqual([{ readToken: [] }, { adminToken: [] }]);
          guarded.push(name);
        }
      }
    }
    expect(guarded).toEqual(['GET /v1/comparisons/{id}/samples', 'GET /v1/comparisons/{id}/samples/{sampleId}']);
    // A route added later is open only on purpose: it must be in the list tested above.
    const openNames = open.map(([method, url]) => `${method} ${url.replace(/orders$|orders(?=\/)/, '{id}')}`);
    expect(unguarded.sort()).toEqual([...new Set(openNames)].sort());
  });
});

describe('the admin routes', () => {
  it('refuse the read token with 403: it may read, not change', async () => {
    for (const [method, url] of [
      ['DELETE', routeFor(routes.comparison, 'orders')],
      ['POST', routeFor(routes.reset, 'orders')],
    ] as const) {
      const response = await get(url, `Bearer ${READ}`, method);
      expect(response.statusCode).toBe(403);
      expect(response.headers['www-authenticate']).toBe('Bearer realm="shadowdiff", error="insufficient_scope"');
      expect(response.json()).toEqual({
        error: 'SD_API_FORBIDDEN',
        message: 'the read token cannot change comparisons; send the admin token',
      });
    }
    expect(service.get('orders')?.runtime().epoch).toBe(1);
  });
});

describe('samples and dead letters as redact shows them', () => {
  const samples = async (id: string, query = '') =>
    (await get(`${routeFor(routes.samples, id)}?limit=1000${query}`, `Bearer ${READ}`)).json().items as Record<
      string,
      unknown
    >[];

  it('redacts dead letters by path, and masks the text of those that are not JSON', async () => {
    const letters = await samples('orders', '&outcome=invalid');
    expect(letters.map((l) => `${l.side}:${l.reason}:${l.raw}`).sort()).toEqual([
      'candidate:malformed:***',
      // The record without a key: its time is redacted (t), the rest shown.
      'candidate:missing_key:{"t":"***"}',
      ...Array(truth.expected.invalidLive).fill('live:malformed:***'),
    ]);
    const differences = await samples('orders', '&field=amount');
    expect(differences.length).toBeGreaterThan(0);
    for (const sample of differences) {
      expect(sample).toMatchObject({ live: '***', candidate: '***', key: expect.stringMatching(/^r-\d+$/) });
    }
  });

  it('with redact "*" shows outcomes, paths, kinds and positions, and not one value', async () => {
    const all = await samples('private');
    expect(new Set(all.map((s) => s.outcome))).toEqual(new Set(['different', 'missing', 'extra', 'invalid']));
    const leaves = (value: unknown): unknown[] =>
      value !== null && typeof value === 'object' ? Object.values(value).flatMap(leaves) : [value];
    for (const { outcome, position, key, live: l, candidate: c, raw } of all) {
      expect(position).toBeDefined();
      if (outcome !== 'invalid') expect(key).toBe('***');
      for (const value of [l, c]) if (value !== undefined) expect(new Set(leaves(value))).toEqual(new Set(['***']));
      if (raw !== undefined) expect(raw === '***' || new Set(leaves(JSON.parse(raw as string))).size === 1).toBe(true);
    }
    const missing = all.find((s) => s.outcome === 'missing');
    expect(missing?.live).toEqual({ id: '***', t: '***', amount: '***', tags: ['***', '***'] });
    expect(all.find((s) => s.outcome === 'different')).toMatchObject({ field: 'amount', kind: 'value' });
    const shown = JSON.stringify(all.map(({ position, ...sample }) => sample));
    expect(shown).not.toMatch(/r-\d|new-\d|broken|not json|2026-/);
  });
});

describe('tokens', () => {
  it('are in no log line and no answer: bodies, headers, the OpenAPI document, the comparison config', async () => {
    // The answers most likely to echo configuration.
    await get(routes.openapi);
    await get(routeFor(routes.comparison, 'orders'), `Bearer ${ADMIN}`);
    await get(routes.comparisons, `Bearer ${READ}`);
    await get(routeFor(routes.samples, 'orders'), `Bearer ${READ}`);
    app.log.info({ req: { headers: { authorization: `Bearer ${READ}` } } }, 'headers logged on purpose');
    expect(answers.length).toBeGreaterThan(50);
    for (const response of answers) {
      const text = `${response.body}\n${JSON.stringify(response.headers)}`;
      expect(text).not.toContain(READ);
      expect(text).not.toContain(ADMIN);
    }
    const log = logLines.join('');
    expect(log).toContain('headers logged on purpose');
    expect(log).toContain('incoming request');
    expect(log).not.toContain(READ);
    expect(log).not.toContain(ADMIN);
  });
});
