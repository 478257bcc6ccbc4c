// Change capture from application PostgreSQL databases (docs/capture.md): what the CLI and `logbook serve` use.
// It loads only pg and the protocol, never the HTTP server, so `logbook capture …` starts quickly.
export {
  type CapturedTableStatus,
  CaptureSetupError,
  CaptureSourceError,
  type CaptureStatus,
  captureInstalled,
  captureStatus,
  databaseNameOf,
  type InstallOptions,
  installCapture,
  planInstall,
  type UninstallResult,
  uninstallCapture,
  withSource,
} from './admin.ts';
export {
  CAPTURE_ACTIONS,
  captureEventId,
  eventFromOutboxRow,
  type OutboxRow,
  parseJsonExact,
  targetIdOf,
  targetTypeOf,
} from './events.ts';
export { ACTOR_SETTING, CAPTURE_SCHEMA, type TableSpec } from './sql.ts';
export {
  type CaptureLog,
  CaptureNotInstalledError,
  CaptureRejectedError,
  type CaptureSink,
  type CaptureStats,
  CaptureWorker,
  type CaptureWorkerOptions,
  PERMANENT_REFUSALS,
} from './worker.ts';
