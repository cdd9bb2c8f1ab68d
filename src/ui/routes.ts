import { Type } from '@sinclair/typebox';
import type { FastifyPluginCallback } from 'fastify';
import { routes } from '../api/paths.js';
import { contentSecurityPolicy, renderPage } from './page.js';

/**
 * `GET /`: the diff explorer. One document that reads the same JSON API the gates read, by
 * relative URLs, so it works behind a path prefix; it holds no data and needs no token itself.
 */
export const uiRoutes: FastifyPluginCallback = (app, _options, done) => {
  app.get(
    routes.ui,
    {
      schema: {
        summary: 'the diff explorer (HTML): comparisons, verdicts, fields and examples',
        response: { 200: { description: 'an HTML page', content: { 'text/html': { schema: Type.String() } } } },
      },
    },
    async (_request, reply) => {
      const page = renderPage({ title: 'shadowdiff' });
      reply
        .type('text/html; charset=utf-8')
        .header('content-security-policy', contentSecurityPolicy(false))
        .header('x-content-type-options', 'nosniff')
        .header('referrer-policy', 'no-referrer')
        .header('cache-control', 'no-cache');
      return page;
    },
  );
  done();
};
