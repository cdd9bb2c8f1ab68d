/**
 * One registry for every error shadowdiff raises on purpose. The code says what failed,
 * the exit code is what the CLI returns, the status is what the HTTP API answers.
 */
export const ErrorCodes = {
  SD_CONFIG_INVALID: { exitCode: 3, status: 400, message: 'invalid configuration' },
  SD_CONFIG_UNREADABLE: { exitCode: 3, status: 500, message: 'configuration file cannot be read' },
  SD_CLI_USAGE: { exitCode: 3, status: 400, message: 'bad command-line arguments' },
  SD_INPUT_UNREADABLE: { exitCode: 3, status: 500, message: 'input cannot be read' },
  SD_INPUT_FORMAT: { exitCode: 3, status: 400, message: 'unknown input format' },
  SD_DIFF_DUPLICATE_KEY: { exitCode: 3, status: 409, message: 'duplicate key with duplicates: error' },
  SD_CODEC_SCHEMA: { exitCode: 3, status: 500, message: 'schema cannot be loaded' },
  SD_REGISTRY_UNAVAILABLE: { exitCode: 3, status: 503, message: 'schema registry unavailable' },
  SD_API_BAD_REQUEST: { exitCode: 3, status: 400, message: 'bad request' },
  SD_API_INTERNAL: { exitCode: 3, status: 500, message: 'internal error; see the server log' },
  SD_API_NOT_FOUND: { exitCode: 3, status: 404, message: 'not found' },
  SD_API_METHOD_NOT_ALLOWED: { exitCode: 3, status: 405, message: 'method not allowed on this path' },
  SD_API_CONFLICT: { exitCode: 3, status: 409, message: 'conflict' },
  SD_API_UNAUTHORIZED: { exitCode: 3, status: 401, message: 'missing or wrong token' },
  SD_API_FORBIDDEN: { exitCode: 3, status: 403, message: 'not allowed with this token, or no admin token configured' },
  SD_GATE_UNREACHABLE: { exitCode: 3, status: 502, message: 'verdict endpoint unreachable' },
  SD_STORAGE: { exitCode: 3, status: 500, message: 'storage error' },
  SD_UI_UNBUILT: { exitCode: 3, status: 500, message: 'the UI is not built: run npm run build' },
  SD_CLUSTER_PARTITIONS: {
    exitCode: 3,
    status: 409,
    message: "cluster mode cannot split the comparison: its sides' topics are not co-partitioned",
  },
  SD_SERVER_LISTEN: { exitCode: 3, status: 500, message: 'the HTTP server cannot listen' },
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

export class ShadowdiffError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: number;
  readonly status: number;
  /** Whether trying the same thing again later may succeed (network, broker, registry). */
  readonly canRetry: boolean;

  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown; canRetry?: boolean }) {
    super(message ?? ErrorCodes[code].message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ShadowdiffError';
    this.code = code;
    this.exitCode = ErrorCodes[code].exitCode;
    this.status = ErrorCodes[code].status;
    this.canRetry = options?.canRetry ?? false;
  }
}

export function isShadowdiffError(error: unknown): error is ShadowdiffError {
  return error instanceof ShadowdiffError;
}
