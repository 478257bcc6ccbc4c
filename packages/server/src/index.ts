// Public entry points of @logbook/server for the CLI, benchmarks and tests.
export { buildApp } from './app.ts';
export { type Config, ConfigError, loadConfig } from './config/config.ts';
export { csvRecord } from './http/export.ts';
export { listWitnessTenants, readWitnessDirectory } from './jobs/witnesses.ts';
export {
  type ArchiveLogReport,
  type ArchiveVerifyReport,
  checkArchivesAgainstLog,
  verifyArchive,
} from './services/archive.ts';
export { type Finding, type VerifyReport, verifyStore } from './services/verifier.ts';
export { migrateStore, openStore, PUBLIC_KEY_FILE, type RunningServer, startServer } from './start.ts';
