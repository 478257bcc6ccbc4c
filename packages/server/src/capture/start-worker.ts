// Starts the capture worker inside `logbook serve` (LOGBOOK_CAPTURE_SOURCE), appending through the events service.
// It never fails the server's start: a source that is down or not yet installed is retried with backoff and logged.
import type { FastifyBaseLogger } from 'fastify';
import type { CaptureConfig } from '../config/config.ts';
import type { EventService } from '../services/events.ts';
import { databaseNameOf } from './admin.ts';
import { serviceSink } from './service-sink.ts';
import { CaptureWorker } from './worker.ts';

export function startCaptureWorker(
  config: CaptureConfig,
  events: EventService,
  log: FastifyBaseLogger,
): CaptureWorker {
  const worker = new CaptureWorker({
    sourceUrl: config.source,
    sink: serviceSink(events),
    tenant: config.tenant,
    sourceName: config.name ?? databaseNameOf(config.source),
    batchSize: config.batchSize,
    pollIntervalMs: config.pollIntervalMs,
    log: (level, message, error) => log[level](error ? { err: error } : {}, message),
  });
  worker.start();
  log.info(
    `change capture: delivering ${databaseNameOf(config.source)}'s changes to tenant "${config.tenant}"`,
  );
  return worker;
}
