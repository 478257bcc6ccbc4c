// Local proof that one audit event is in a tenant's signed Merkle log, with the protocol's own code (RFC 9162
// inclusion proof, C2SP signed checkpoint) against a public key the caller pinned. Browser-safe. It must never take
// the key to trust from the server it is checking: a server that lies about events could lie about its key too.
import {
  type AuditEvent,
  bytesEqual,
  canonicalJson,
  fromBase64,
  hashLeaf,
  type InclusionProofResponse,
  openCheckpoint,
  parseVerifierKey,
  toBase64,
  toHex,
  utf8Encode,
  type VerifierKey,
  verifyInclusion,
} from '@logbook/protocol';
import { LogbookVerificationError } from './errors.ts';

/** What a successful verifyEvent established. */
export interface EventVerification {
  verified: true;
  id: string;
  tenant: string;
  seq: number;
  /** The leaf hash recomputed from the event's content (hex, as `event.hash`). */
  leafHash: string;
  /** The signed tree head the event was proved against. */
  treeSize: number;
  rootHash: string;
  /** Names of the pinned keys whose signature on the checkpoint verified. */
  signedBy: string[];
  /** The event as fetched (its content is what was proved). */
  event: AuditEvent;
  /** One sentence: what was proved, and what was not. */
  proved: string;
}

/** The pinned key from a C2SP verifier key string ("name+hash+base64"). */
export function pinnedKey(publicKey: string | VerifierKey): VerifierKey {
  return typeof publicKey === 'string' ? parseVerifierKey(publicKey.trim()) : publicKey;
}

/** The leaf hash of an event as Logbook computes it: SHA-256(0x00 ‖ RFC 8785 JSON of every field but seq and hash). */
export function eventLeafHash(event: AuditEvent): Uint8Array {
  const { seq: _seq, hash: _hash, ...body } = event;
  return hashLeaf(utf8Encode(canonicalJson(body)));
}

const fail = (reason: LogbookVerificationError['reason'], message: string, cause?: unknown): never => {
  throw new LogbookVerificationError(reason, message, cause !== undefined ? { cause } : undefined);
};

/**
 * Checks, with no trust in the server: (1) the event's content hashes to its leaf hash; (2) the proof is for that leaf
 * at the event's seq; (3) the checkpoint note is signed by the pinned key for this tenant's log and states the proof's
 * tree size and root; (4) the inclusion proof leads from the leaf to that root. Throws LogbookVerificationError.
 */
export function verifyEventProof(
  event: AuditEvent,
  proof: InclusionProofResponse,
  checkpointNote: string,
  key: VerifierKey,
): EventVerification {
  const leaf = eventLeafHash(event);
  if (toHex(leaf) !== event.hash.toLowerCase()) {
    fail(
      'event-hash-mismatch',
      `Event ${event.id}: its content hashes to ${toHex(leaf)}, but the server says ${event.hash}: the content was changed`,
    );
  }
  let proofLeaf: Uint8Array = new Uint8Array();
  try {
    proofLeaf = fromBase64(proof.leafHash);
  } catch (error) {
    fail('proof-mismatch', 'The inclusion proof leaf hash is not base64', error);
  }
  if (proof.leafIndex !== event.seq || !bytesEqual(proofLeaf, leaf) || proof.tenant !== event.tenant) {
    fail(
      'proof-mismatch',
      `The inclusion proof is for leaf ${proof.leafIndex} (${proof.tenant}), not event ${event.id} at seq ${event.seq} (${event.tenant})`,
    );
  }
  const origin = `${key.name}/${event.tenant}`;
  let opened: ReturnType<typeof openCheckpoint> | undefined;
  try {
    opened = openCheckpoint(checkpointNote, key, origin);
  } catch (error) {
    fail(
      'checkpoint-signature',
      `The checkpoint is not signed by the pinned key ${key.name} for log ${origin}: ${(error as Error).message}`,
      error,
    );
  }
  const { checkpoint, verifiedBy } = opened as ReturnType<typeof openCheckpoint>;
  let proofRoot: Uint8Array = new Uint8Array();
  try {
    proofRoot = fromBase64(proof.rootHash);
  } catch (error) {
    fail('checkpoint-mismatch', 'The proof root hash is not base64', error);
  }
  if (checkpoint.treeSize !== proof.treeSize || !bytesEqual(checkpoint.rootHash, proofRoot)) {
    fail(
      'checkpoint-mismatch',
      `The signed checkpoint (size ${checkpoint.treeSize}) does not match the proof's tree (size ${proof.treeSize})`,
    );
  }
  try {
    verifyInclusion(
      proof.leafIndex,
      proof.treeSize,
      leaf,
      proof.proof.map((h) => fromBase64(h)),
      checkpoint.rootHash,
    );
  } catch (error) {
    fail('inclusion-proof', `The inclusion proof is invalid: ${(error as Error).message}`, error);
  }
  return {
    verified: true,
    id: event.id,
    tenant: event.tenant,
    seq: event.seq,
    leafHash: toHex(leaf),
    treeSize: checkpoint.treeSize,
    rootHash: toBase64(checkpoint.rootHash),
    signedBy: verifiedBy,
    event,
    proved:
      `Event ${event.id}, with exactly this content, is entry ${event.seq} of the ${event.tenant} log whose ` +
      `${checkpoint.treeSize}-entry tree head was signed by ${verifiedBy.join(', ')}. ` +
      'To know the log was not rewritten since, keep checkpoints and check consistency proofs (logbook verify).',
  };
}
