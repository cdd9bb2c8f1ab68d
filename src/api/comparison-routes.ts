import type { FastifyPluginCallback } from 'fastify';
import type { ComparisonRegistry } from '../service/contracts.js';
import { routes } from './paths.js';
import {
  ComparisonDetail,
  ComparisonList,
  IdParams,
  type IdParamsType,
  SamplesBody,
  SamplesQuery,
  type SamplesQueryType,
  SummaryBody,
  VerdictBody,
  WindowsBody,
  WindowsQuery,
  type WindowsQueryType,
  withErrors,
} from './schemas.js';
import { comparisonOf, detail, listItem } from './views.js';

/** Read-only views of running comparisons. */
export const comparisonRoutes: FastifyPluginCallback<{ registry: ComparisonRegistry }> = (app, { registry }, done) => {
  app.get(
    routes.comparisons,
    { schema: { summary: 'list comparisons: id, state, verdict', response: withErrors({ 200: ComparisonList }) } },
    async () => ({ items: registry.list().map(listItem) }),
  );

  app.get<{ Params: IdParamsType }>(
    routes.comparison,
    {
      schema: {
        summary: 'config (secrets redacted) and runtime state',
        params: IdParams,
        response: withErrors({ 200: ComparisonDetail }),
      },
    },
    async (request) => detail(comparisonOf(registry, request.params.id)),
  );

  app.get<{ Params: IdParamsType }>(
    routes.verdict,
    {
      schema: {
        summary: 'current verdict; 200 whatever the verdict',
        params: IdParams,
        response: withErrors({ 200: VerdictBody }),
      },
    },
    async (request) => comparisonOf(registry, request.params.id).verdict(),
  );

  app.get<{ Params: IdParamsType }>(
    routes.summary,
    {
      schema: {
        summary: 'counts and field statistics over the current epoch',
        params: IdParams,
        response: withErrors({ 200: SummaryBody }),
      },
    },
    async (request) => comparisonOf(registry, request.params.id).summary(),
  );

  app.get<{ Params: IdParamsType; Querystring: WindowsQueryType }>(
    routes.windows,
    {
      schema: {
        summary: 'closed windows of the current epoch, newest first',
        params: IdParams,
        querystring: WindowsQuery,
        response: withErrors({ 200: WindowsBody }),
      },
    },
    async (request) => {
      const { limit, offset } = request.query;
      return comparisonOf(registry, request.params.id).windows({ limit, offset });
    },
  );

  app.get<{ Params: IdParamsType; Querystring: SamplesQueryType }>(
    routes.samples,
    {
      schema: {
        summary: 'stored diff examples, real differences before those in noise fields',
        params: IdParams,
        querystring: SamplesQuery,
        response: withErrors({ 200: SamplesBody }),
      },
    },
    async (request) => {
      const { field, outcome, noise, limit } = request.query;
      return { items: await comparisonOf(registry, request.params.id).samples({ field, outcome, noise, limit }) };
    },
  );
  done();
};
