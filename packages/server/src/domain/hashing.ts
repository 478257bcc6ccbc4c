// Plugs node:crypto's SHA-256 into the protocol package for this process: same function as the browser-safe
// default, ~2.6× faster on event-sized input (a test checks both agree). Importing this module is the whole API.
import { createHash } from 'node:crypto';
import { type Sha256, useSha256 } from '@logbook/protocol';

export const nodeSha256Of: Sha256 = (...parts) => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
};

useSha256(nodeSha256Of);
