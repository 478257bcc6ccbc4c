// Secret files in the data directory (checkpoint signing key, token signing key): read, or created once with
// mode 0600. Never logs a secret and never overwrites an existing file.
import fs from 'node:fs';
import path from 'node:path';

/** Returns the file's text, creating it with `create()` first when it does not exist. */
export function readOrCreateSecretFile(
  file: string,
  create: () => string,
): { text: string; created: boolean } {
  try {
    return { text: fs.readFileSync(file, 'utf8').trim(), created: false };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const text = create();
  try {
    // 'wx': fail rather than overwrite if another process created it meanwhile.
    fs.writeFileSync(file, `${text}\n`, { mode: 0o600, flag: 'wx' });
    return { text, created: true };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST')
      return { text: fs.readFileSync(file, 'utf8').trim(), created: false };
    throw error;
  }
}
