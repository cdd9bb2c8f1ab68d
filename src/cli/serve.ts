import { pino } from 'pino';
import { buildServer, REDACTED_LOG_PATHS } from '../api/server.js';
import { loadConfig } from '../config/load.js';
import { Service } from '../service/service.js';

export interface ServeOptions {
  config: string;
}

/** Credentials never reach the logs: request headers (as the API masks them) and config secrets. */
const LOG_REDACT = [...REDACTED_LOG_PATHS, '*.adminToken', '*.password', '*.sasl.password'];

/**
 * `shadowdiff serve`: starts the service and the HTTP API, and shuts down gracefully on SIGTERM or
 * SIGINT: readiness goes 503 first, then consumers stop, the batch in flight is made durable and
 * committed, storage closes, and the HTTP server closes last.
 */
export async function runServe(options: ServeOptions): Promise<number> {
  const config = await loadConfig(options.config);
  const logger = pino({ name: 'shadowdiff', level: process.env.SHADOWDIFF_LOG_LEVEL ?? 'info', redact: LOG_REDACT });
  const service = await Service.start(config, logger);
  const app = buildServer({
    registry: service,
    adminToken: config.server.adminToken,
    metrics: { contentType: service.promRegistry.contentType, render: () => service.promRegistry.metrics() },
    logger,
  });
  await app.listen({ host: config.server.host, port: config.server.port });
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
