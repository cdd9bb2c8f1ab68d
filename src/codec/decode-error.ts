/**
 * Why one record could not be decoded. The caller counts the record as `invalid` with this
 * reason, keeps a sample, and goes on: a bad record never stops a comparison (SPEC §9).
 */
export type DecodeReason = 'malformed' | 'not_object' | 'oversized' | 'unknown_schema' | 'bad_magic' | 'truncated';

/** Thrown by every decoder for a failure that concerns one record only. */
export class DecodeError extends Error {
  readonly reason: DecodeReason;

  constructor(reason: DecodeReason, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DecodeError';
    this.reason = reason;
  }
}

export function isDecodeError(error: unknown): error is DecodeError {
  return error instanceof DecodeError;
}
