// Opens a connection to Logbook's SQLite file with the settings every connection needs (the store's and the writer
// thread's). It must never relax durability: synchronous=FULL on every connection that writes.
import Database from 'better-sqlite3';

export interface ConnectionOptions {
  readonly?: boolean;
  cacheMiB?: number;
}

export function openConnection(file: string, options: ConnectionOptions = {}): Database.Database {
  const db = new Database(file, { readonly: options.readonly ?? false });
  db.pragma('busy_timeout = 5000');
  if (!options.readonly) {
    db.pragma('journal_mode = WAL');
    // FULL: each commit fsyncs the WAL, so an acknowledged append survives power loss. Group commit pays it once per batch.
    db.pragma('synchronous = FULL');
  }
  db.pragma(`cache_size = -${(options.cacheMiB ?? 256) * 1024}`);
  db.pragma('temp_store = MEMORY');
  db.pragma('foreign_keys = ON');
  return db;
}
