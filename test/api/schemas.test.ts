import { describe, expect, it } from 'vitest';
import * as schemas from '../../src/api/schemas.js';

/** Every place in a schema where a serializer would have to validate to choose. */
function choices(schema: unknown, path = '$'): string[] {
  if (schema === null || typeof schema !== 'object') return [];
  const found = Object.entries(schema).flatMap(([key, value]) => choices(value, `${path}.${key}`));
  return 'anyOf' in schema || 'oneOf' in schema ? [path, ...found] : found;
}

describe('API schemas', () => {
  it('hold no anyOf or oneOf, so answers serialize without a validator compiled on the first request', () => {
    expect(choices(schemas)).toEqual([]);
  });

  it('keep enums and nullable scalars as JSON Schema types', () => {
    expect(schemas.Verdict).toMatchObject({ type: 'string', enum: ['PASS', 'FAIL', 'INCONCLUSIVE'] });
    const watermark = (schemas.ComparisonDetail.properties as Record<string, unknown>).runtime;
    expect(JSON.stringify(watermark)).toContain('"type":["string","null"]');
  });
});
