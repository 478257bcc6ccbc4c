// Tampered copies of a pristine SQLite store for verifier tests: each copy is changed directly in SQLite, behind the
// store's back. Never changes the pristine file itself.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';

let copies = 0;

/** A copy of `pristine` (in its directory) with `tamper` applied to it directly; returns the copy's path. */
export function tamperedCopy(pristine: string, tamper: (db: Database.Database) => void): string {
  const file = path.join(path.dirname(pristine), `case-${copies++}.db`);
  fs.copyFileSync(pristine, file);
  const db = new Database(file);
  try {
    tamper(db);
  } finally {
    db.close();
  }
  return file;
}
