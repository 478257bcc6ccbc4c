// Public entry points of @logbook/server for the CLI, benchmarks and tests.
export { buildApp } from './app.ts';
export { type Config, ConfigError, loadConfig } from './config/config.ts';
export { openStore, type RunningServer, startServer } from './start.ts';
