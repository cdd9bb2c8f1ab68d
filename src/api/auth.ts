import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ShadowdiffError } from '../errors.js';

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/**
 * An `onRequest` hook for mutating routes: `Authorization: Bearer <adminToken>` or no entry.
 * Without a configured token nothing may mutate (403); a missing or wrong token is 401. The token
 * is compared through fixed-length digests in constant time, so neither its content nor its length
 * leaks through timing. Runs before the body is read, so strangers cannot make the server parse one.
 */
export function requireAdmin(adminToken: string): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  const expected = adminToken === '' ? undefined : digest(adminToken);
  return async (request, reply) => {
    if (expected === undefined) {
      throw new ShadowdiffError('SD_API_FORBIDDEN', 'no admin token configured (server.adminToken); mutating is off');
    }
    const header = request.headers.authorization;
    const token = header === undefined ? undefined : BEARER.exec(header)?.[1];
    if (token === undefined || !timingSafeEqual(digest(token), expected)) {
      reply.header('www-authenticate', 'Bearer realm="shadowdiff"');
      throw new ShadowdiffError(
        'SD_API_UNAUTHORIZED',
        token === undefined ? 'missing admin token: send Authorization: Bearer <token>' : 'wrong admin token',
      );
    }
  };
}
