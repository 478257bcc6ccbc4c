// `logbook migrate`: applies pending migrations to the configured store and exits.
import { loadConfig, openStore } from '@logbook/server';

export async function migrateCommand(): Promise<number> {
  const store = openStore(loadConfig());
  try {
    const applied = await store.migrate();
    console.log(applied.length ? `Applied migrations: ${applied.join(', ')}` : 'The database is up to date.');
    return 0;
  } finally {
    await store.close();
  }
}
