import { finished } from 'node:stream';
import type { FastifyInstance } from 'fastify';

/**
 * Makes every route of this (encapsulated) instance ignore request bodies: callers such as Flagger
 * POST a webhook body the gate does not read, and no body — empty with `application/json`, huge,
 * or of any media type — may fail such a request. The body is drained unread, so it is never
 * buffered and no size limit applies.
 */
export function ignoreBodies(instance: FastifyInstance): void {
  // Fastify answers 415 to a malformed Content-Type before any parser runs; these routes read no body.
  instance.addHook('onRequest', async (request) => {
    delete request.headers['content-type'];
  });
  instance.removeAllContentTypeParsers();
  instance.addContentTypeParser('*', (_request, payload, done) => {
    payload.resume();
    finished(payload, (error) => done(error ?? null, undefined));
  });
}
