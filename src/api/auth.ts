import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ShadowdiffError } from '../errors.js';

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;
const REALM = 'Bearer realm="shadowdiff"';

/** `server.adminToken` and `server.readToken`; empty means not set. */
export interface Tokens {
  adminToken: string;
  readToken: string;
}

export type AuthHook = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/**
 * Compares a sent token with a configured one through fixed-length digests in constant time, so
 * neither its content nor its length leaks through timing. An empty configured token matches nothing.
 */
function tokenMatcher(configured: string): (sent: Buffer) => boolean {
  const expected = configured === '' ? undefined : digest(configured);
  return (sent) => expected !== undefined && timingSafeEqual(sent, expected);
}

/** Which configured token the request's `Authorization: Bearer` carries, if any. */
function credential(tokens: Tokens): (request: FastifyRequest) => 'none' | 'admin' | 'read' | 'wrong' {
  const isAdmin = tokenMatcher(tokens.adminToken);
  const isReader = tokenMatcher(tokens.readToken);
  return (request) => {
    const header = request.headers.authorization;
    const token = header === undefined ? undefined : BEARER.exec(header)?.[1];
    if (token === undefined) return 'none';
    const sent = digest(token);
    // Both compared every time: which one matched does not show in the timing either.
    const admin = isAdmin(sent);
    const read = isReader(sent);
    return admin ? 'admin' : read ? 'read' : 'wrong';
  };
}

/**
 * Missing credentials are 401 with a `WWW-Authenticate` challenge, and so is a token that is no
 * configured one (RFC 6750 `invalid_token`); a valid token that may not do this is 403
 * (`insufficient_scope`).
 */
function unauthorized(reply: FastifyReply, message: string, invalid: boolean): ShadowdiffError {
  reply.header('www-authenticate', invalid ? `${REALM}, error="invalid_token"` : REALM);
  return new ShadowdiffError('SD_API_UNAUTHORIZED', message);
}

/**
 * An `onRequest` hook for mutating routes: `Authorization: Bearer <adminToken>` or no entry.
 * Without a configured token nothing may mutate (403); a missing or wrong token is 401, the read
 * token 403. Runs before the body is read, so strangers cannot make the server parse one.
 */
export function requireAdmin(tokens: Tokens): AuthHook {
  const sent = credential(tokens);
  return async (request, reply) => {
    if (tokens.adminToken === '') {
      throw new ShadowdiffError('SD_API_FORBIDDEN', 'no admin token configured (server.adminToken); mutating is off');
    }
    const kind = sent(request);
    if (kind === 'admin') return;
    if (kind === 'read') {
      reply.header('www-authenticate', `${REALM}, error="insufficient_scope"`);
      throw new ShadowdiffError('SD_API_FORBIDDEN', 'the read token cannot change comparisons; send the admin token');
    }
    throw unauthorized(
      reply,
      kind === 'none' ? 'missing admin token: send Authorization: Bearer <token>' : 'wrong admin token',
      kind === 'wrong',
    );
  };
}

/**
 * An `onRequest` hook for routes that answer record content (samples, dead letters): with a
 * `server.readToken` set they need it or the admin token; without one they are open, and this is
 * undefined.
 */
export function requireReader(tokens: Tokens): AuthHook | undefined {
  if (tokens.readToken === '') return undefined;
  const sent = credential(tokens);
  return async (request, reply) => {
    const kind = sent(request);
    if (kind === 'admin' || kind === 'read') return;
    throw unauthorized(
      reply,
      kind === 'none'
        ? 'records need a token: send Authorization: Bearer <server.readToken or server.adminToken>'
        : 'wrong token',
      kind === 'wrong',
    );
  };
}
