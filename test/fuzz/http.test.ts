import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routes } from '../../src/api/paths.js';
import { buildServer } from '../../src/api/server.js';
import { parseConfig } from '../../src/config/load.js';
import { Service } from '../../src/service/service.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';
import { fuzzOptions } from './fuzz.js';

/** Every route of the real app on a real service (one simulated comparison), with random requests. */
const files = tempDir();
const TOKEN = 'fuzz-admin-token';
const ID = 'orders-fuzz';
let service: Service;
let app: FastifyInstance;

beforeAll(async () => {
  service = await Service.start(
    parseConfig({
      storage: { path: ':memory:' },
      comparisons: [
        {
          id: ID,
          live: { simulate: { ratePerSecond: 20 } },
          candidate: { simulate: { ratePerSecond: 20, differenceRate: 0.05 } },
          key: ['order_id'],
          time: { field: 'event_time' },
          window: { size: '1s', allowedLateness: '100ms' },
        },
      ],
    }),
    pino({ level: 'silent' }),
  );
  app = buildServer({
    registry: service,
    adminToken: TOKEN,
    metrics: { contentType: service.promRegistry.contentType, render: () => service.promRegistry.metrics() },
    logger: false,
  });
  await waitFor(() => (service.get(ID)?.runtime().closedWindows ?? 0) >= 1, 60_000, 'a closed window');
});

afterAll(async () => {
  await app?.close();
  await service?.stop();
  files.remove();
});

// The real id is rarer than the random ones: its summary, windows and samples read DuckDB (30-50 ms
// each on a loaded machine), while an unknown id stops at a lookup.
const id = fc.oneof(
  { weight: 1, arbitrary: fc.constant(ID) },
  { weight: 8, arbitrary: fc.string({ maxLength: 70 }) },
  { weight: 4, arbitrary: fc.string({ unit: 'grapheme', maxLength: 8 }) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '',
      '.',
      '..',
      '%',
      '%zz',
      '%00',
      'a/b',
      'A',
      '-x',
      'x'.repeat(65),
      '__proto__',
      'constructor',
    ),
  },
);

const queryValue = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.integer().map(String),
  fc.constantFrom(
    '',
    '0',
    '1',
    '1000',
    '1001',
    '-1',
    '1e3',
    '1.5',
    'NaN',
    'Infinity',
    'different',
    'missing',
    'invalid',
    '[]',
    '%',
  ),
);
const query = fc
  .array(fc.tuple(fc.constantFrom('limit', 'offset', 'field', 'outcome', 'cursor', 'x', '__proto__', ''), queryValue), {
    maxLength: 3,
  })
  .map((entries) => (entries.length ? `?${entries.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&')}` : ''));

const ROUTES = Object.values(routes);
const url = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .tuple(fc.constantFrom(...ROUTES), id, query)
      .map(([route, i, q]) => route.replace(':id', encodeURIComponent(i)) + q),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(fc.constantFrom(...ROUTES), id, query).map(([route, i, q]) => route.replace(':id', i) + q),
  },
  { weight: 1, arbitrary: fc.webPath().map((path) => path || '/') },
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }).map((path) => `/${path}`) },
);

const method = fc.constantFrom('GET', 'GET', 'GET', 'POST', 'POST', 'DELETE', 'PUT', 'PATCH', 'HEAD', 'OPTIONS');
const authorization = fc.option(
  fc.oneof(
    fc.constant(`Bearer ${TOKEN}`),
    fc.constantFrom('Bearer', 'Bearer ', 'Basic abc', `bearer ${TOKEN}`, `Bearer ${TOKEN}x`),
    fc.string({ maxLength: 20 }),
  ),
  { nil: undefined },
);
const contentType = fc.option(
  fc.constantFrom(
    'application/json',
    'application/json; charset=utf-8',
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data',
    'application/json; charset=latin1',
    'garbage',
  ),
  { nil: undefined },
);
const body = fc.option(
  fc.oneof(
    fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
    fc.string({ maxLength: 40 }),
    fc.constantFrom('{', '{"id":', '{"id":"x","live":{"simulate":{}}}', '\ufeff{}', '{"__proto__":{"x":1}}', 'null'),
  ),
  { nil: undefined },
);

const request = fc.record({ method, url, authorization, contentType, body });

/** Answers that are not errors though their status says otherwise: readiness, and gates on a FAIL or INCONCLUSIVE verdict. */
function isVerdictAnswer(path: string, status: number): boolean {
  if (path === routes.readyz) return status === 503;
  return /\/gate\/(?:promote|regression)\/?$/.test(path) && (status === 409 || status === 503);
}

describe('HTTP API under random requests', () => {
  it('never answers 500 to bad input, and every error is {error, message} JSON', async () => {
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        // Deleting the one comparison would leave the other requests nothing to find.
        fc.pre(!(r.method === 'DELETE' && r.url.startsWith(`${routes.comparisons}/${ID}`)));
        // inject() builds a URL object first, so a path such as `/\\` never reaches the server.
        fc.pre(URL.canParse(r.url, 'http://localhost'));
        const headers: Record<string, string> = {};
        if (r.authorization !== undefined) headers.authorization = r.authorization;
        if (r.contentType !== undefined) headers['content-type'] = r.contentType;
        const response = await app.inject({
          method: r.method as 'GET',
          url: r.url,
          headers,
          ...(r.body !== undefined && r.method !== 'GET' && r.method !== 'HEAD' ? { payload: r.body } : {}),
        });
        const path = r.url.split('?')[0] ?? '';
        expect(response.statusCode, `${r.method} ${r.url}: ${response.body}`).not.toBe(500);
        if (response.statusCode >= 500) expect(isVerdictAnswer(path, response.statusCode), r.url).toBe(true);
        if (isVerdictAnswer(path, response.statusCode) && r.method !== 'HEAD') {
          const answer = response.json();
          expect(typeof (answer.verdict ?? answer.ready), `${r.method} ${r.url}: ${response.body}`).not.toBe(
            'undefined',
          );
        } else if (response.statusCode >= 400 && r.method !== 'HEAD') {
          const answer = response.json();
          expect(typeof answer.error, `${r.method} ${r.url}: ${response.body}`).toBe('string');
          expect(typeof answer.message).toBe('string');
        }
      }),
      fuzzOptions(),
    );
    // No random request created a comparison, nor removed the one there is.
    expect(service.list().map((c) => c.id)).toEqual([ID]);
  });
});

describe('paging parameters the fuzzer found answering 500', () => {
  for (const [query, name] of [
    ['windows?limit=Infinity', 'limit'],
    ['windows?offset=1e20', 'offset'],
    ['samples?limit=1e400', 'limit'],
  ]) {
    it(`answers 400 naming ${name}, not 500, to ${query}`, async () => {
      const response = await app.inject({ url: `${routes.comparisons}/${ID}/${query}` });
      expect(response.statusCode).toBe(400);
      expect(response.json()).toMatchObject({
        error: 'SD_API_BAD_REQUEST',
        message: expect.stringMatching(new RegExp(`^querystring/${name} must be an integer`)),
      });
    });
  }
});
