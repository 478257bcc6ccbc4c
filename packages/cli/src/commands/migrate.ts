// `logbook migrate`: applies pending migrations to the configured store and exits.
import { loadConfig, migrateStore, openStore } from '@logbook/server';

export async function migrateCommand(): Promise<number> {
  const config = loadConfig();
  const store = openStore(config);
  try {
    const applied = await migrateStore(store, config);
    console.log(applied.length ? `Applied migrations: ${applied.join(', ')}` : 'The database is up to date.');
    return 0;
  } finally {
    await store.close();
  }
}
