import { Type } from '@sinclair/typebox';
import type { FastifyPluginCallback, FastifySchemaCompiler } from 'fastify';
import { parseComparison } from '../config/load.js';
import { type ComparisonConfig, ComparisonSchema } from '../config/schema.js';
import type { ComparisonRegistry } from '../service/contracts.js';
import { requireAdmin, type Tokens } from './auth.js';
import { ignoreBodies } from './ignore-body.js';
import { routes } from './paths.js';
import { ComparisonDetail, defaultsOptional, IdParams, type IdParamsType, VerdictBody, withErrors } from './schemas.js';
import { comparisonOf, detail, unknownComparison } from './views.js';

export interface AdminOptions {
  registry: ComparisonRegistry;
  tokens: Tokens;
}

/**
 * Validates a POSTed comparison exactly as the config file is validated, with the same messages
 * naming the bad path. Fastify's Ajv would strip unknown settings instead of rejecting them.
 */
const comparisonBody: FastifySchemaCompiler<unknown> = () => (data) => {
  try {
    return { value: parseComparison(data) };
  } catch (error) {
    return { error: error as Error };
  }
};

const security = [{ adminToken: [] }];

/** Create, delete and reset comparisons; every route needs the admin token. */
export const adminRoutes: FastifyPluginCallback<AdminOptions> = (app, { registry, tokens }, done) => {
  const onRequest = requireAdmin(tokens);

  app.post<{ Body: ComparisonConfig }>(
    routes.comparisons,
    {
      onRequest,
      validatorCompiler: comparisonBody,
      schema: {
        summary:
          'create and start a comparison: 201 once it runs, 202 while a source still connects (state connecting, with the last error)',
        security,
        // Documents the body; the validator above checks it.
        body: defaultsOptional(ComparisonSchema),
        response: withErrors({ 201: ComparisonDetail, 202: ComparisonDetail }),
      },
    },
    async (request, reply) => {
      // The validator replaced the body with the parsed comparison, defaults applied.
      const view = await registry.create(request.body);
      // A source that cannot connect yet keeps trying: the comparison is accepted, not yet running.
      reply.code(view.runtime().state === 'connecting' ? 202 : 201);
      return detail(view);
    },
  );

  // Deleting and resetting read no body; a client sending one anyway must not fail.
  app.register((scope, _options, registered) => {
    ignoreBodies(scope);

    scope.delete<{ Params: IdParamsType }>(
      routes.comparison,
      {
        onRequest,
        schema: {
          summary: 'stop a comparison and delete its stored state',
          security,
          params: IdParams,
          response: withErrors({ 204: Type.Null({ description: 'deleted' }) }),
        },
      },
      async (request, reply) => {
        if (!(await registry.delete(request.params.id))) throw unknownComparison(request.params.id);
        return reply.code(204).send();
      },
    );

    scope.post<{ Params: IdParamsType }>(
      routes.reset,
      {
        onRequest,
        schema: {
          summary: 'start a new epoch; answers the fresh verdict',
          security,
          params: IdParams,
          response: withErrors({ 200: VerdictBody }),
        },
      },
      async (request) => {
        const view = comparisonOf(registry, request.params.id);
        await view.reset();
        return view.verdict();
      },
    );
    registered();
  });
  done();
};
