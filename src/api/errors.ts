import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { type ErrorCode, isShadowdiffError } from '../errors.js';
import type { RouteMethods } from './route-methods.js';
import type { ErrorBodyType } from './schemas.js';

export interface ErrorAnswer {
  status: number;
  body: ErrorBodyType & { error: ErrorCode };
}

const INTERNAL: ErrorAnswer = {
  status: 500,
  body: { error: 'SD_API_INTERNAL', message: 'internal error; see the server log' },
};

/** What the client sees for an error: deliberate errors as raised, Fastify's 4xx as bad requests, the rest opaque. */
export function errorAnswer(error: unknown): ErrorAnswer {
  if (isShadowdiffError(error)) return { status: error.status, body: { error: error.code, message: error.message } };
  const { statusCode, message } = (error ?? {}) as Partial<FastifyError>;
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500 && typeof message === 'string') {
    return {
      status: statusCode,
      body: { error: statusCode === 404 ? 'SD_API_NOT_FOUND' : 'SD_API_BAD_REQUEST', message },
    };
  }
  return INTERNAL;
}

/** Fastify error handler: one JSON shape for every error; details of server faults go to the log only. */
export function handleError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): ErrorAnswer['body'] {
  const answer = errorAnswer(error);
  if (answer.status >= 500) request.log.error({ err: error }, 'request failed');
  else request.log.info({ code: answer.body.error }, answer.body.message);
  reply.code(answer.status);
  return answer.body;
}

/**
 * Unknown paths answer like unknown comparisons do; a known path asked with a method it does not
 * answer gets 405 and the methods it does in `Allow`.
 */
export function notFoundHandler(
  routes: RouteMethods,
): (request: FastifyRequest, reply: FastifyReply) => ErrorAnswer['body'] {
  return (request, reply) => {
    const url = request.url.slice(0, 200);
    const allowed = routes.allowed(request.url);
    if (allowed) {
      reply.code(405).header('allow', allowed.join(', '));
      return {
        error: 'SD_API_METHOD_NOT_ALLOWED',
        message: `${request.method} is not allowed on ${url}; allowed: ${allowed.join(', ')}`,
      };
    }
    reply.code(404);
    return { error: 'SD_API_NOT_FOUND', message: `no route ${request.method} ${url}` };
  };
}
