import type { FastifyPluginCallback } from 'fastify';
import type { ComparisonRegistry } from '../service/contracts.js';
import type { Verdict } from '../verdict/verdict.js';
import { ignoreBodies } from './ignore-body.js';
import { routes } from './paths.js';
import { IdParams, type IdParamsType, VerdictBody, withErrors } from './schemas.js';
import { comparisonOf } from './views.js';

/** How long an INCONCLUSIVE promote gate asks the caller to wait before asking again. */
export const RETRY_AFTER_SECONDS = 30;

/** Promotion needs PASS: FAIL is a conflict, INCONCLUSIVE is "not yet" (Flagger confirm-promotion, `curl --fail`). */
export function promoteStatus(verdict: Verdict): 200 | 409 | 503 {
  return verdict === 'PASS' ? 200 : verdict === 'FAIL' ? 409 : 503;
}

/** A rollout hook only stops the rollout on a FAIL; undecided is no reason to roll back. */
export function regressionStatus(verdict: Verdict): 200 | 409 {
  return verdict === 'FAIL' ? 409 : 200;
}

/** Gate endpoints: the verdict body with a status code a deployment tool acts on. GET or POST, bodies ignored. */
export const gateRoutes: FastifyPluginCallback<{ registry: ComparisonRegistry }> = (app, { registry }, done) => {
  ignoreBodies(app);

  app.route<{ Params: IdParamsType }>({
    method: ['GET', 'POST'],
    url: routes.gatePromote,
    schema: {
      summary: 'promotion gate: 200 PASS, 409 FAIL, 503 + Retry-After INCONCLUSIVE; any request body is ignored',
      params: IdParams,
      response: withErrors({ 200: VerdictBody, 409: VerdictBody, 503: VerdictBody }),
    },
    handler: async (request, reply) => {
      const body = comparisonOf(registry, request.params.id).verdict();
      const status = promoteStatus(body.verdict);
      if (status === 503) reply.header('retry-after', String(RETRY_AFTER_SECONDS));
      reply.code(status);
      return body;
    },
  });

  app.route<{ Params: IdParamsType }>({
    method: ['GET', 'POST'],
    url: routes.gateRegression,
    schema: {
      summary: 'regression gate: 200 unless FAIL, 409 FAIL; any request body is ignored',
      params: IdParams,
      response: withErrors({ 200: VerdictBody, 409: VerdictBody }),
    },
    handler: async (request, reply) => {
      const body = comparisonOf(registry, request.params.id).verdict();
      reply.code(regressionStatus(body.verdict));
      return body;
    },
  });
  done();
};
