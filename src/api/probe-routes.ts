import { Type } from '@sinclair/typebox';
import type { FastifyPluginCallback } from 'fastify';
import type { ComparisonRegistry } from '../service/contracts.js';
import { routes } from './paths.js';
import { Health, Readiness, withErrors } from './schemas.js';

export interface ProbeOptions {
  registry: ComparisonRegistry;
  metrics: { contentType: string; render(): Promise<string> };
  storageReady: () => boolean;
}

/** Liveness, readiness, Prometheus scrape and the OpenAPI document. Polled often, so logged only on trouble. */
export const probeRoutes: FastifyPluginCallback<ProbeOptions> = (app, { registry, metrics, storageReady }, done) => {
  app.get<{ Reply: { status: 'ok' } }>(
    routes.healthz,
    { logLevel: 'warn', schema: { summary: 'liveness: 200 while the process runs', response: { 200: Health } } },
    async () => ({ status: 'ok' }),
  );

  app.get(
    routes.readyz,
    {
      logLevel: 'warn',
      schema: {
        summary: 'readiness: storage open and every source connected',
        response: withErrors({ 200: Readiness, 503: Readiness }),
      },
    },
    async (_request, reply) => {
      const comparisons = registry.readiness();
      const storage = storageReady();
      const reasons = [...(storage ? [] : ['storage is not open']), ...comparisons.reasons];
      const ready = storage && comparisons.ready;
      reply.code(ready ? 200 : 503);
      return { ready, reasons };
    },
  );

  app.get(
    routes.metrics,
    {
      logLevel: 'warn',
      schema: {
        summary: 'Prometheus metrics',
        response: {
          200: {
            description: 'Prometheus text exposition format',
            content: { 'text/plain': { schema: Type.String() } },
          },
        },
      },
    },
    async (_request, reply) => {
      const text = await metrics.render();
      reply.type(metrics.contentType);
      return text;
    },
  );

  app.get(
    routes.openapi,
    {
      schema: { summary: 'this OpenAPI document', response: { 200: Type.Object({}, { additionalProperties: true }) } },
    },
    async () => app.swagger(),
  );
  done();
};
