import type { FastifyRequest } from 'fastify';
import { ShadowdiffError } from '../errors.js';

interface QueryProperty {
  type?: unknown;
  minimum?: number;
  maximum?: number;
}

const DECIMAL_INTEGER = /^-?[0-9]+$/;

/**
 * Refuses an integer query parameter not written in decimal digits, or too large for a double to
 * hold exactly. Fastify's Ajv coerces query strings with `+value`: `Infinity` and `1e400` became
 * Infinity, which `maximum` let through, and `1e20` a number past SQL's BIGINT; each failed in the
 * store as a 500. What is left (bounds) the schema checks. Runs before validation, on the route's
 * own querystring schema, so every integer parameter of every route is covered.
 */
export async function checkQueryIntegers(request: FastifyRequest): Promise<void> {
  const schema = request.routeOptions.schema?.querystring as { properties?: Record<string, QueryProperty> } | undefined;
  if (schema?.properties === undefined) return;
  const query = request.query as Record<string, unknown>;
  for (const [name, property] of Object.entries(schema.properties)) {
    const value = query[name];
    // Absent: the default applies; repeated (an array): the schema refuses it.
    if (property.type !== 'integer' || typeof value !== 'string') continue;
    if (DECIMAL_INTEGER.test(value) && Number.isSafeInteger(Number(value))) continue;
    const minimum = property.minimum ?? Number.MIN_SAFE_INTEGER;
    const maximum = property.maximum ?? Number.MAX_SAFE_INTEGER;
    throw new ShadowdiffError(
      'SD_API_BAD_REQUEST',
      `querystring/${name} must be an integer from ${minimum} to ${maximum} in decimal digits, not ${JSON.stringify(value.slice(0, 40))}`,
    );
  }
}
