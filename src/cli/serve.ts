import { pino } from 'pino';
import { buildServer, REDACTED_LOG_PATHS } from '../api/server.js';
import { loadConfig } from '../config/load.js';
import { ShadowdiffError } from '../errors.js';
import { Service } from '../service/service.js';

export interface ServeOptions {
  config: string;
}

/** Credentials never reach the logs: request headers (as the API masks them) and config secrets. */
const LOG_REDACT = [...REDACTED_LOG_PATHS, '*.adminToken', '*.readToken', '*.password', '*.sasl.password'];

const LISTEN_PROBLEMS: Record<string, string> = {
  EADDRINUSE: 'address already in use',
  EADDRNOTAVAIL: 'address not available on this host',
  EACCES: 'permission denied',
};

function listenError(host: string, port: number, cause: unknown): ShadowdiffError {
  const { code, message } = cause as NodeJS.ErrnoException;
  const problem = (code && LISTEN_PROBLEMS[code]) ?? message;
  return new ShadowdiffError(
    'SD_SERVER_LISTEN',
    `cannot listen on ${host}:${port}: ${problem}${code ? ` (${code})` : ''}`,
    {
      cause,
    },
  );
}

/**
 * `shadowdiff serve`: starts the service and the HTTP API. A source that cannot connect yet holds
 * up neither (it keeps trying on its own), so HTTP answers as soon as storage is open and every
 * comparison has started. A port that cannot be listened on stops every comparison and closes
 * storage, so the process exits at once. Shuts down gracefully on SIGTERM or SIGINT: readiness goes
 * 503 first, then consumers stop, the batch in flight is buffered and a last checkpoint stored, storage
 * closes, and the HTTP server closes last.
 */
export async function runServe(options: ServeOptions): Promise<number> {
  const config = await loadConfig(options.config);
  const logger = pino({ name: 'shadowdiff', level: process.env.SHADOWDIFF_LOG_LEVEL ?? 'info', redact: LOG_REDACT });
  const service = await Service.start(config, logger);
  const app = buildServer({
    registry: service,
    adminToken: config.server.adminToken,
    readToken: config.server.readToken,
    metrics: { contentType: service.promRegistry.contentType, render: () => service.promRegistry.metrics() },
    logger,
  });
  const { host, port } = config.server;
  try {
    await app.listen({ host, port });
  } catch (cause) {
    service.beginShutdown();
    await service.stop();
    await app.close();
    throw listenError(host, port, cause);
  }
  logger.info({ url: `http://${host === '0.0.0.0' ? 'localhost' : host}:${port}/` }, 'diff explorer: open this URL');
  if (!config.server.readToken) {
    logger.info('server.readToken is not set: samples and dead letters answer anyone who reaches the port');
  }
  if (service.list().length === 0) {
    // Not an error: comparisons can still come through POST /v1/comparisons, so readiness stays 200.
    logger.warn(
      { config: options.config },
      config.server.adminToken
        ? 'no comparisons: the config has none and storage holds none; create them with POST /v1/comparisons'
        : 'no comparisons: the config has none and storage holds none, and without server.adminToken none can be created',
    );
  }
  return new Promise<number>((resolve) => {
    let stopping = false;
    const shutdown = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'shutting down');
      service.beginShutdown();
      try {
        await service.stop();
        await app.close();
        resolve(0);
      } catch (error) {
        logger.error({ err: error }, 'unclean shutdown');
        resolve(1);
      }
    };
    process.once('SIGTERM', () => void shutdown('SIGTERM'));
    process.once('SIGINT', () => void shutdown('SIGINT'));
  });
}
