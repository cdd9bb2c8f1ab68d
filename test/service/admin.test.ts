import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../src/api/server.js';
import { parseConfig } from '../../src/config/load.js';
import { Service } from '../../src/service/service.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

/** Comparisons created, reset and deleted at runtime through the API of a real service. */
const files = tempDir();
const TOKEN = 'admin-secret';
let service: Service;
let app: FastifyInstance;

/** A service on the test's storage, and its API. */
async function startService(): Promise<void> {
  service = await Service.start(
    parseConfig({ storage: { path: `${files.dir}/admin.duckdb` } }),
    pino({ level: 'silent' }),
  );
  app = buildServer({
    registry: service,
    adminToken: TOKEN,
    metrics: { contentType: service.promRegistry.contentType, render: () => service.promRegistry.metrics() },
    logger: false,
  });
}

beforeAll(startService);

afterAll(async () => {
  await app?.close();
  await service?.stop();
  files.remove();
});

const simulated = {
  id: 'runtime-1',
  live: { simulate: { ratePerSecond: 1000 } },
  candidate: { simulate: { ratePerSecond: 1000 } },
  key: ['order_id'],
  time: { field: 'event_time' },
  window: { size: '1s', allowedLateness: '100ms' },
};
const auth = { authorization: `Bearer ${TOKEN}` };

describe('runtime comparisons', () => {
  it('creates, resets and deletes a comparison; it survives a restart in between', async () => {
    expect((await app.inject({ method: 'POST', url: '/v1/comparisons', payload: simulated })).statusCode).toBe(401);
    const created = await app.inject({ method: 'POST', url: '/v1/comparisons', payload: simulated, headers: auth });
    expect(created.statusCode).toBe(201);
    const again = await app.inject({ method: 'POST', url: '/v1/comparisons', payload: simulated, headers: auth });
    expect(again.statusCode).toBe(409);
    const runner = service.get('runtime-1')!;
    await waitFor(() => runner.runtime().closedWindows >= 2, 20_000, 'windows closed');
    expect((await app.inject({ url: '/v1/comparisons' })).json().items.map((c: { id: string }) => c.id)).toEqual([
      'runtime-1',
    ]);

    const reset = await app.inject({ method: 'POST', url: '/v1/comparisons/runtime-1/reset', headers: auth });
    expect(reset.statusCode).toBe(200);
    expect(runner.runtime().epoch).toBe(2);
    // The new epoch's verdict, computed as the reset took effect: nothing sampled yet.
    expect(reset.json().stats.sampled).toBe(0);

    // A restart brings the runtime comparison back, in its epoch.
    await app.close();
    await service.stop();
    await startService();
    expect(service.get('runtime-1')?.runtime().epoch).toBe(2);
    expect(await service.promRegistry.metrics()).toContain('shadowdiff_verdict_code{comparison="runtime-1"}');

    const deleted = await app.inject({ method: 'DELETE', url: '/v1/comparisons/runtime-1', headers: auth });
    expect(deleted.statusCode).toBe(204);
    expect((await app.inject({ url: '/v1/comparisons/runtime-1/verdict' })).statusCode).toBe(404);
    expect(await service.promRegistry.metrics()).not.toContain('comparison="runtime-1"');
  });

  it('rejects a bad comparison with the path of the bad value', async () => {
    const create = (changes: Record<string, unknown>) =>
      app.inject({ method: 'POST', url: '/v1/comparisons', payload: { ...simulated, ...changes }, headers: auth });
    const bad = await create({ id: 'runtime-2', window: { size: 'soon' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({
      error: 'SD_CONFIG_INVALID',
      message: 'window.size: expected a duration like 1m',
    });
    const sql = await create({ id: 'runtime-4', scope: { sql: 'true' } });
    expect(sql.json()).toMatchObject({ error: 'SD_CONFIG_INVALID', message: 'scope.sql: unknown setting' });
    const longWindows = await create({ id: 'runtime-3', window: { size: '7d' } });
    expect(longWindows.statusCode).toBe(400);
    expect(longWindows.json().message).toMatch(/^storage\.retention: 7d is too short for comparison runtime-3: /);
  });

  it('judges a scoped comparison on its slice, and takes a new scope by delete and create', async () => {
    const create = (scope: Record<string, unknown>) =>
      app.inject({
        method: 'POST',
        url: '/v1/comparisons',
        payload: { ...simulated, id: 'scoped', scope },
        headers: auth,
      });
    expect((await create({ keyRange: [0, 0.5] })).statusCode).toBeLessThan(300);
    const summary = async () => (await app.inject({ url: '/v1/comparisons/scoped/summary' })).json();
    await waitFor(async () => (await summary()).counts.outOfScopeLive > 0, 30_000, 'records out of scope');
    expect((await summary()).scope).toBe('key hash in [0, 0.5) (50% of keys); records outside it are out of scope');
    expect((await app.inject({ url: '/v1/comparisons/scoped/verdict' })).json().scope).toBe(
      'key hash in [0, 0.5) (50% of keys); records outside it are out of scope',
    );
    expect((await app.inject({ method: 'DELETE', url: '/v1/comparisons/scoped', headers: auth })).statusCode).toBe(204);
    expect((await create({ keyRange: [0.5, 1] })).statusCode).toBeLessThan(300);
    expect((await summary()).scope).toMatch(/^key hash in \[0\.5, 1\)/);
    expect((await app.inject({ method: 'DELETE', url: '/v1/comparisons/scoped', headers: auth })).statusCode).toBe(204);
  });

  it('takes a new scope while it runs, one change at a time, and survives a restart with it', async () => {
    const created = await app.inject({
      method: 'POST',
      url: '/v1/comparisons',
      payload: { ...simulated, id: 'moving', scope: { keyRange: [0, 0.5] } },
      headers: auth,
    });
    expect(created.statusCode).toBeLessThan(300);
    const put = (scope: unknown) =>
      app.inject({
        method: 'PUT',
        url: '/v1/comparisons/moving/scope',
        headers: { ...auth, 'content-type': 'application/json' },
        payload: JSON.stringify(scope),
      });
    // Two changes at once: one is made, the other is refused while it runs.
    const [first, second] = await Promise.all([put({ keyRange: [0.5, 1] }), put({ keyRange: [0.25, 0.75] })]);
    expect([first.statusCode, second.statusCode].sort()).toEqual([200, 409]);
    const made = [first, second].find((answer) => answer.statusCode === 200)!;
    expect(made.json()).toMatchObject({ comparison: 'moving', changed: true, epoch: 2 });
    expect([first, second].find((answer) => answer.statusCode === 409)!.json()).toEqual({
      error: 'SD_API_CONFLICT',
      message: 'comparison moving is being changed; try again once that is done',
    });
    const summary = async () => (await app.inject({ url: '/v1/comparisons/moving/summary' })).json();
    expect((await summary()).scope).toBe(made.json().scope);
    const removed = await put(null);
    expect(removed.statusCode).toBe(200);
    expect(removed.json()).toMatchObject({ changed: true, epoch: 3 });
    expect(removed.json().scope).toBeUndefined();
    await waitFor(async () => (await summary()).counts.equal > 0, 30_000, 'windows closed without a scope');
    expect((await summary()).scope).toBeUndefined();
    expect((await summary()).counts.outOfScopeLive).toBeUndefined();

    // A comparison created over HTTP keeps its new scope across a restart: no change, no new epoch.
    const epoch = service.get('moving')!.runtime().epoch;
    await app.close();
    await service.stop();
    await startService();
    expect(service.get('moving')?.runtime().epoch).toBe(epoch);
    expect(service.get('moving')?.config.scope).toBeUndefined();
    expect((await app.inject({ method: 'DELETE', url: '/v1/comparisons/moving', headers: auth })).statusCode).toBe(204);
  });
});
