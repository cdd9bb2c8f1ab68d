import swagger from '@fastify/swagger';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import type { ComparisonRegistry } from '../service/contracts.js';
import { uiRoutes } from '../ui/routes.js';
import { adminRoutes } from './admin-routes.js';
import { comparisonRoutes } from './comparison-routes.js';
import { handleError, notFoundHandler } from './errors.js';
import { gateRoutes } from './gate-routes.js';
import { probeRoutes } from './probe-routes.js';
import { checkQueryIntegers } from './query-integers.js';
import { RouteMethods } from './route-methods.js';

export interface ServerOptions {
  registry: ComparisonRegistry;
  /** `server.adminToken`; empty turns the mutating endpoints off (403). */
  adminToken: string;
  /** `server.readToken`; when set, answers with record content need it or the admin token. */
  readToken?: string;
  metrics: { contentType: string; render(): Promise<string> };
  /** A pino logger to log through, true for Fastify's own, false or absent for none. */
  logger?: Logger | boolean;
  /** Whether the store is open; readiness fails while it is not. Defaults to always. */
  storageReady?: () => boolean;
}

/** Log paths that may carry a token, whoever logs the request headers. */
export const REDACTED_LOG_PATHS = [
  'req.headers.authorization',
  'request.headers.authorization',
  'headers.authorization',
];

function loggerOptions(logger: ServerOptions['logger']) {
  if (logger === undefined || logger === false) return { logger: false };
  if (logger === true) return { logger: { redact: REDACTED_LOG_PATHS } };
  const child: FastifyBaseLogger = logger.child({}, { redact: REDACTED_LOG_PATHS });
  return { loggerInstance: child };
}

/** The HTTP API of SPEC §5, ready to `listen` (the caller does). */
export function buildServer(options: ServerOptions): FastifyInstance {
  const { registry, metrics, storageReady = () => true } = options;
  const tokens = { adminToken: options.adminToken, readToken: options.readToken ?? '' };
  const app = Fastify({
    ...loggerOptions(options.logger),
    // Malformed URLs are refused before routing; answer them in the same JSON shape.
    frameworkErrors: (error, request, reply) => {
      (reply as FastifyReply).send(handleError(error, request, reply as FastifyReply));
    },
  });
  app.setErrorHandler(handleError);
  app.addHook('preValidation', checkQueryIntegers);
  const methods = new RouteMethods();
  // Added before the routes, so it sees every one of them.
  app.addHook('onRoute', (route) => methods.record(route));
  app.setNotFoundHandler(notFoundHandler(methods));

  // Registered before the routes so its onRoute hook sees every one of them.
  app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'shadowdiff',
        version: '1',
        description: 'Verdicts and diffs of live vs dark-launched pipelines; gates for deployment tools.',
      },
      components: {
        securitySchemes: {
          adminToken: { type: 'http', scheme: 'bearer', description: 'server.adminToken: changes comparisons' },
          readToken: {
            type: 'http',
            scheme: 'bearer',
            description:
              'server.readToken: reads record content (samples, dead letters); the admin token does too. Routes list it only while one is set',
          },
        },
      },
    },
  });
  app.register(probeRoutes, { registry, metrics, storageReady });
  app.register(comparisonRoutes, { registry, tokens });
  app.register(gateRoutes, { registry });
  app.register(adminRoutes, { registry, tokens });
  app.register(uiRoutes);
  return app;
}
