import type { FastifyPluginCallback } from 'fastify';
import { ShadowdiffError } from '../errors.js';
import type { ComparisonRegistry } from '../service/contracts.js';
import { requireReader, type Tokens } from './auth.js';
import { routes } from './paths.js';
import {
  ComparisonDetail,
  ComparisonList,
  IdParams,
  type IdParamsType,
  SampleBody,
  SampleParams,
  type SampleParamsType,
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

export interface ComparisonRoutesOptions {
  registry: ComparisonRegistry;
  tokens: Tokens;
}

/**
 * Read-only views of running comparisons. Those that answer record content (samples with their
 * values, keys and dead letters) need the read token when one is set; verdicts, counts, field
 * names and windows stay open for gates and dashboards.
 */
export const comparisonRoutes: FastifyPluginCallback<ComparisonRoutesOptions> = (app, { registry, tokens }, done) => {
  const reader = requireReader(tokens);
  const recordAccess = reader === undefined ? {} : { onRequest: reader };
  // Either token opens them; the OpenAPI document says so only when a read token is set.
  const security: Record<string, string[]>[] = [{ readToken: [] }, { adminToken: [] }];
  const recordSecurity = reader === undefined ? {} : { security };
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
      ...recordAccess,
      schema: {
        summary: 'stored diff examples, real differences before those in noise fields',
        ...recordSecurity,
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

  app.get<{ Params: SampleParamsType }>(
    routes.sample,
    {
      ...recordAccess,
      schema: {
        summary: 'one stored example with the whole record pair it came from, redacted',
        ...recordSecurity,
        params: SampleParams,
        response: withErrors({ 200: SampleBody }),
      },
    },
    async (request) => {
      const { id, sampleId } = request.params;
      const sample = await comparisonOf(registry, id).sample(sampleId);
      if (sample === undefined)
        throw new ShadowdiffError('SD_API_NOT_FOUND', `no sample ${sampleId} in comparison ${id}`);
      return sample;
    },
  );
  done();
};
