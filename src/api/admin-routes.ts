import { type TSchema, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { FastifyPluginCallback, FastifySchemaCompiler } from 'fastify';
import { parseComparison, parseScope } from '../config/load.js';
import { type ComparisonConfig, ComparisonSchema, type ScopeConfig, ScopeSchema } from '../config/schema.js';
import { describeScope } from '../diff/scope.js';
import { ShadowdiffError } from '../errors.js';
import type { ComparisonRegistry } from '../service/contracts.js';
import { requireAdmin, type Tokens } from './auth.js';
import { ignoreBodies } from './ignore-body.js';
import { routes } from './paths.js';
import {
  ComparisonDetail,
  defaultsOptional,
  IdParams,
  type IdParamsType,
  ScopeChangeBody,
  VerdictBody,
  withErrors,
} from './schemas.js';
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

/**
 * Validates a PUT scope body as the config's `scope` is validated, naming the bad path
 * (`scope.keyRange[1]`); the id in the path against its pattern, in the words Fastify uses elsewhere.
 */
const scopeRequest: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) => {
  if (httpPart !== 'body') {
    return (data) => {
      const error = Value.Errors(schema as TSchema, data).First();
      if (!error) return { value: data };
      return { error: new ShadowdiffError('SD_API_BAD_REQUEST', `${httpPart}${error.path} ${error.message}`) };
    };
  }
  return (data) => {
    try {
      return { value: parseScope(data) };
    } catch (error) {
      return { error: error as Error };
    }
  };
};

const security = [{ adminToken: [] }];

/** Create, delete and reset comparisons, and change their scope; every route needs the admin token. */
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

  app.put<{ Params: IdParamsType; Body: ScopeConfig | null }>(
    routes.scope,
    {
      onRequest,
      validatorCompiler: scopeRequest,
      schema: {
        summary: "change a running comparison's scope (null: none); a new scope starts a new epoch, answered with it",
        security,
        params: IdParams,
        // Documents the body; the validator above checks it.
        body: Type.Union([defaultsOptional(ScopeSchema) as TSchema, Type.Null()]),
        response: withErrors({ 200: ScopeChangeBody }),
      },
    },
    async (request) => {
      const { id } = request.params;
      const before = comparisonOf(registry, id);
      const view = await registry.changeScope(id, request.body);
      if (!view) throw unknownComparison(id);
      const { epoch, epochStartedAt } = view.runtime();
      const scope = describeScope(view.config.scope);
      return { comparison: id, changed: view !== before, epoch, epochStartedAt, ...(scope ? { scope } : {}) };
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
