import { describe, expect, it } from 'vitest';
import { errorAnswer } from '../../src/api/errors.js';
import { ShadowdiffError } from '../../src/errors.js';

describe('errorAnswer', () => {
  it('answers deliberate errors with their status, code and message', () => {
    expect(errorAnswer(new ShadowdiffError('SD_API_CONFLICT', 'comparison x exists'))).toEqual({
      status: 409,
      body: { error: 'SD_API_CONFLICT', message: 'comparison x exists' },
    });
  });

  it("answers Fastify's client errors with their status", () => {
    const tooLarge = Object.assign(new Error('Request body is too large'), { statusCode: 413 });
    expect(errorAnswer(tooLarge)).toEqual({
      status: 413,
      body: { error: 'SD_API_BAD_REQUEST', message: 'Request body is too large' },
    });
  });

  it.each([
    new Error('ECONNRESET at 10.0.0.3'),
    Object.assign(new Error('upstream'), { statusCode: 502 }),
    'a thrown string',
    undefined,
  ])('hides anything else behind a generic 500 (%#)', (error) => {
    expect(errorAnswer(error)).toEqual({
      status: 500,
      body: { error: 'SD_API_INTERNAL', message: 'internal error; see the server log' },
    });
  });
});
