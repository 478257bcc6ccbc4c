// C2SP signed notes (c2sp.org/signed-note) with Ed25519 keys, and tlog checkpoints (c2sp.org/tlog-checkpoint).
// Pure: never does I/O, and never returns note text unless a trusted key's signature verified it.

import { ed25519 } from '@noble/curves/ed25519.js';
import {
  bytesEqual,
  concatBytes,
  fromBase64,
  isWellFormedUnicode,
  toBase64,
  utf8Decode,
  utf8Encode,
} from './encoding.ts';
import { HASH_SIZE } from './merkle.ts';
import { sha256Of } from './sha256.ts';

/** Signature type byte for Ed25519 in key IDs and key strings (signed-note "Signature types"). */
export const ED25519_SIGNATURE_TYPE = 0x01;

/** Signature lines beyond this are rejected, bounding work; the spec requires accepting at least 16. */
export const MAX_NOTE_SIGNATURES = 100;

const SIGNATURE_PREFIX = '\u2014 '; // em dash, space
const ED25519_KEY_SIZE = 32;
const ED25519_SIGNATURE_SIZE = 64;
const PRIVATE_KEY_PREFIX = 'PRIVATE+KEY+';

/** An Ed25519 note signing key: the 32-byte seed (RFC 8032 private key) and its public key. */
export interface SigningKey {
  name: string;
  privateKey: Uint8Array;
  publicKey: Uint8Array;
}

/** A public key that notes are verified against, as parsed from a verifier key string. */
export interface VerifierKey {
  name: string;
  /** The 32-bit key ID (first 4 bytes of the key hash, big-endian). */
  keyHash: number;
  publicKey: Uint8Array;
}

/** One signature line of an opened note. `verified` is false when no known key matches it. */
export interface NoteSignature {
  name: string;
  keyHash: number;
  /** Base64 of keyHash || signature, exactly as it appeared in the note. */
  signature: string;
  verified: boolean;
}

/** A note whose text was verified by at least one known key. */
export interface OpenedNote {
  /** The signed text, including its final newline. */
  text: string;
  /** Names of the known keys whose signatures verified, in note order. */
  verifiedBy: string[];
  /** Every distinct signature line, verified or ignored (unknown key). */
  signatures: NoteSignature[];
}

/** Why a note was rejected; a closed set so callers can branch on it. */
export const NOTE_FAILURE_REASONS = [
  'malformed',
  'too-many-signatures',
  'invalid-signature',
  'ambiguous-key',
  'unverified',
] as const;
export type NoteFailureReason = (typeof NOTE_FAILURE_REASONS)[number];

/** Thrown by openNote (and openCheckpoint) whenever a note cannot be trusted. */
export class NoteVerificationError extends Error {
  override readonly name = 'NoteVerificationError';
  readonly reason: NoteFailureReason;

  constructor(reason: NoteFailureReason, message: string) {
    super(message);
    this.reason = reason;
  }
}

/** Thrown by parseCheckpoint when note text is not a well-formed checkpoint. */
export class MalformedCheckpointError extends Error {
  override readonly name = 'MalformedCheckpointError';
}

// ---------------------------------------------------------------------------------------------
// Keys

/** Key names must be non-empty, valid Unicode, and contain neither Unicode spaces nor "+". */
export function isValidKeyName(name: unknown): name is string {
  return (
    typeof name === 'string' &&
    name.length > 0 &&
    isWellFormedUnicode(name) &&
    !/\p{White_Space}/u.test(name) &&
    !name.includes('+')
  );
}

function requireKeyName(name: unknown): asserts name is string {
  if (!isValidKeyName(name)) {
    throw new TypeError(
      `invalid note key name ${JSON.stringify(name)}: must be non-empty, without spaces or "+"`,
    );
  }
}

function requireBytes(value: unknown, length: number, what: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array) || value.length !== length) {
    throw new TypeError(`${what} must be a ${length}-byte Uint8Array`);
  }
}

/** Key ID: SHA-256(name || "\n" || 0x01 || publicKey)[:4] as a big-endian uint32. */
export function keyHash(name: string, publicKey: Uint8Array): number {
  requireKeyName(name);
  requireBytes(publicKey, ED25519_KEY_SIZE, 'Ed25519 public key');
  const digest = sha256Of(
    concatBytes(utf8Encode(`${name}\n`), Uint8Array.of(ED25519_SIGNATURE_TYPE), publicKey),
  );
  return new DataView(digest.buffer, digest.byteOffset, 4).getUint32(0, false);
}

function keyHashHex(hash: number): string {
  return hash.toString(16).padStart(8, '0');
}

function keyHashBytes(hash: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, hash, false);
  return bytes;
}

/** Derives the signing key for a name from a 32-byte Ed25519 seed (e.g. one loaded from config). */
export function signingKeyFromSeed(name: string, seed: Uint8Array): SigningKey {
  requireKeyName(name);
  requireBytes(seed, ED25519_KEY_SIZE, 'Ed25519 seed');
  return { name, privateKey: seed.slice(), publicKey: ed25519.getPublicKey(seed) };
}

/** Generates a fresh Ed25519 signing key from the platform CSPRNG (crypto.getRandomValues). */
export function generateSigningKey(name: string): SigningKey {
  requireKeyName(name);
  return signingKeyFromSeed(name, ed25519.utils.randomSecretKey());
}

/** The public verifier key string: "name+hash+base64(0x01 || publicKey)". */
export function verifierKeyString(name: string, publicKey: Uint8Array): string {
  const hash = keyHash(name, publicKey);
  return `${name}+${keyHashHex(hash)}+${toBase64(concatBytes(Uint8Array.of(ED25519_SIGNATURE_TYPE), publicKey))}`;
}

/** The secret signer key string: "PRIVATE+KEY+name+hash+base64(0x01 || seed)". Keep it secret. */
export function signerKeyString(key: SigningKey): string {
  // Re-derive the public key from the seed so a mismatched key object cannot produce a bad hash.
  const derived = signingKeyFromSeed(key.name, key.privateKey);
  const hash = keyHash(derived.name, derived.publicKey);
  const encoded = toBase64(concatBytes(Uint8Array.of(ED25519_SIGNATURE_TYPE), key.privateKey));
  return `${PRIVATE_KEY_PREFIX}${key.name}+${keyHashHex(hash)}+${encoded}`;
}

// Splits "name+hash+base64" and checks every part; shared by both key string formats.
function parseKeyParts(text: string, what: string): { name: string; hash: number; key: Uint8Array } {
  // Only the first two "+" separate fields: the base64 key may itself contain "+".
  const first = text.indexOf('+');
  const second = first < 0 ? -1 : text.indexOf('+', first + 1);
  if (second < 0) throw new TypeError(`malformed ${what}: expected name+hash+key`);
  const name = text.slice(0, first);
  const hashHex = text.slice(first + 1, second);
  const key64 = text.slice(second + 1);
  if (!isValidKeyName(name)) throw new TypeError(`malformed ${what}: invalid key name`);
  if (!/^[0-9a-fA-F]{8}$/.test(hashHex))
    throw new TypeError(`malformed ${what}: key hash must be 8 hex digits`);
  let key: Uint8Array;
  try {
    key = fromBase64(key64);
  } catch {
    throw new TypeError(`malformed ${what}: key is not valid base64`);
  }
  if (key.length === 0) throw new TypeError(`malformed ${what}: empty key`);
  if (key[0] !== ED25519_SIGNATURE_TYPE) {
    throw new TypeError(`unsupported ${what}: signature type ${key[0]} (only Ed25519, 1, is supported)`);
  }
  if (key.length !== 1 + ED25519_KEY_SIZE)
    throw new TypeError(`malformed ${what}: Ed25519 key must be 32 bytes`);
  return { name, hash: Number.parseInt(hashHex, 16), key: key.subarray(1) };
}

/** Parses and checks a verifier key string. Throws a TypeError if it is malformed or its hash is wrong. */
export function parseVerifierKey(text: string): VerifierKey {
  if (typeof text !== 'string') throw new TypeError('verifier key must be a string');
  const { name, hash, key } = parseKeyParts(text, 'verifier key');
  if (hash !== keyHash(name, key))
    throw new TypeError('invalid verifier key: key hash does not match the key');
  return { name, keyHash: hash, publicKey: key.slice() };
}

/** Parses a "PRIVATE+KEY+..." signer key string. Throws a TypeError if malformed or its hash is wrong. */
export function parseSignerKey(text: string): SigningKey {
  if (typeof text !== 'string' || !text.startsWith(PRIVATE_KEY_PREFIX)) {
    throw new TypeError('malformed signer key: must start with PRIVATE+KEY+');
  }
  const { name, hash, key } = parseKeyParts(text.slice(PRIVATE_KEY_PREFIX.length), 'signer key');
  const signingKey = signingKeyFromSeed(name, key);
  // The hash is of the public key, so it can only be checked after deriving it from the seed.
  if (hash !== keyHash(name, signingKey.publicKey)) {
    throw new TypeError('invalid signer key: key hash does not match the key');
  }
  return signingKey;
}

// ---------------------------------------------------------------------------------------------
// Notes

// Valid UTF-8 (no lone surrogates) and no ASCII control characters other than newline.
function isValidNoteContent(text: string): boolean {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
  return isWellFormedUnicode(text) && !/[\u0000-\u0009\u000b-\u001f]/.test(text);
}

/**
 * Signs note text (which must end in a newline) with one or more keys and returns the signed
 * note: the text, a blank line, and one "— name base64(keyHash || signature)" line per key.
 */
export function signNote(text: string, signers: SigningKey | readonly SigningKey[]): string {
  if (typeof text !== 'string' || !text.endsWith('\n'))
    throw new TypeError('note text must end with a newline');
  if (!isValidNoteContent(text)) {
    throw new TypeError('note text must be valid Unicode without control characters other than newline');
  }
  const list = Array.isArray(signers) ? signers : [signers as SigningKey];
  if (list.length === 0) throw new TypeError('signNote needs at least one signing key');
  const message = utf8Encode(text);
  let signed = `${text}\n`;
  for (const signer of list) {
    const key = signingKeyFromSeed(signer.name, signer.privateKey);
    const signature = ed25519.sign(message, key.privateKey);
    const hash = keyHash(key.name, key.publicKey);
    signed += `${SIGNATURE_PREFIX}${key.name} ${toBase64(concatBytes(keyHashBytes(hash), signature))}\n`;
  }
  return signed;
}

function malformed(message: string): never {
  throw new NoteVerificationError('malformed', `malformed note: ${message}`);
}

// Several verifier keys with one name and key ID would make a signature's key ambiguous.
function indexVerifiers(
  input: string | VerifierKey | readonly (string | VerifierKey)[],
): Map<string, VerifierKey[]> {
  const list = Array.isArray(input) ? input : [input as string | VerifierKey];
  const byId = new Map<string, VerifierKey[]>();
  for (const entry of list) {
    const key = typeof entry === 'string' ? parseVerifierKey(entry) : entry;
    requireBytes(key.publicKey, ED25519_KEY_SIZE, 'verifier public key');
    const id = `${key.name}+${keyHashHex(key.keyHash)}`;
    const existing = byId.get(id) ?? [];
    if (!existing.some((k) => bytesEqual(k.publicKey, key.publicKey))) existing.push(key);
    byId.set(id, existing);
  }
  return byId;
}

/**
 * Parses a signed note and checks its signatures against the known verifier keys (key strings
 * or parsed keys). Signatures by unknown keys are ignored; a failing signature by a known key
 * rejects the whole note. Throws NoteVerificationError when the note is malformed or no known
 * key verified it.
 */
export function openNote(
  note: string | Uint8Array,
  verifiers: string | VerifierKey | readonly (string | VerifierKey)[],
): OpenedNote {
  const known = indexVerifiers(verifiers);
  let message: string;
  if (note instanceof Uint8Array) {
    try {
      message = utf8Decode(note);
    } catch {
      malformed('not valid UTF-8');
    }
  } else if (typeof note === 'string') {
    message = note;
  } else {
    malformed('expected a string or bytes');
  }
  if (!isValidNoteContent(message)) malformed('invalid Unicode or a control character other than newline');

  // The text ends at the last blank line; it keeps its final newline, the separator does not.
  const split = message.lastIndexOf('\n\n');
  if (split < 0) malformed('no blank line before the signatures');
  const text = message.slice(0, split + 1);
  const block = message.slice(split + 2);
  if (block.length === 0 || !block.endsWith('\n')) malformed('the signature block must end with a newline');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_NOTE_SIGNATURES) {
    throw new NoteVerificationError(
      'too-many-signatures',
      `note has more than ${MAX_NOTE_SIGNATURES} signatures`,
    );
  }

  const textBytes = utf8Encode(text);
  const signatures: NoteSignature[] = [];
  const verifiedBy: string[] = [];
  const seenLines = new Set<string>();
  const seenKeys = new Set<string>();
  for (const line of lines) {
    if (!line.startsWith(SIGNATURE_PREFIX))
      malformed('a signature line must start with an em dash and a space');
    const body = line.slice(SIGNATURE_PREFIX.length);
    const space = body.indexOf(' ');
    const name = space < 0 ? body : body.slice(0, space);
    const encoded = space < 0 ? '' : body.slice(space + 1);
    if (!isValidKeyName(name)) malformed('invalid key name in a signature line');
    let raw: Uint8Array;
    try {
      raw = fromBase64(encoded);
    } catch {
      malformed(`signature by ${name} is not valid base64`);
    }
    if (raw.length < 5) malformed(`signature by ${name} is too short`);
    const hash = new DataView(raw.buffer, raw.byteOffset, 4).getUint32(0, false);
    const id = `${name}+${keyHashHex(hash)}`;
    if (seenLines.has(line)) continue;
    seenLines.add(line);

    const candidates = known.get(id);
    if (candidates === undefined) {
      signatures.push({ name, keyHash: hash, signature: encoded, verified: false });
      continue;
    }
    if (candidates.length > 1)
      throw new NoteVerificationError('ambiguous-key', `ambiguous verifier key ${id}`);
    // A second, different signature by a key already verified adds nothing.
    if (seenKeys.has(id)) continue;
    seenKeys.add(id);
    const signature = raw.subarray(4);
    if (!verifyEd25519(signature, textBytes, candidates[0]!.publicKey)) {
      throw new NoteVerificationError('invalid-signature', `invalid signature for key ${id}`);
    }
    signatures.push({ name, keyHash: hash, signature: encoded, verified: true });
    verifiedBy.push(name);
  }
  if (verifiedBy.length === 0) {
    throw new NoteVerificationError('unverified', 'note has no signature from a known key');
  }
  return { text, verifiedBy, signatures };
}

function verifyEd25519(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== ED25519_SIGNATURE_SIZE) return false;
  try {
    // zip215: false selects strict RFC 8032 verification, as Go's crypto/ed25519 does.
    return ed25519.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Checkpoints

/** A log's signed tree head (c2sp.org/tlog-checkpoint). */
export interface Checkpoint {
  /** Unique identity of the log; by convention also the signing key's name. */
  origin: string;
  treeSize: number;
  /** RFC 9162 root hash at treeSize (32 bytes). */
  rootHash: Uint8Array;
  /** Opaque, non-empty extra lines; their use is NOT RECOMMENDED by the spec. */
  extensions?: string[];
}

/** Checkpoint note text: origin, decimal size, base64 root, then any extension lines, each ending "\n". */
export function formatCheckpoint(checkpoint: Checkpoint): string {
  const { origin, treeSize, rootHash, extensions = [] } = checkpoint;
  if (
    typeof origin !== 'string' ||
    origin.length === 0 ||
    origin.includes('\n') ||
    !isValidNoteContent(origin)
  ) {
    throw new TypeError('checkpoint origin must be a non-empty single line without control characters');
  }
  if (!Number.isSafeInteger(treeSize) || treeSize < 0) {
    throw new TypeError('checkpoint tree size must be a non-negative safe integer');
  }
  requireBytes(rootHash, HASH_SIZE, 'checkpoint root hash');
  for (const line of extensions) {
    if (typeof line !== 'string' || line.length === 0 || line.includes('\n') || !isValidNoteContent(line)) {
      throw new TypeError(
        'checkpoint extension lines must be non-empty single lines without control characters',
      );
    }
  }
  return [origin, String(treeSize), toBase64(rootHash), ...extensions].map((line) => `${line}\n`).join('');
}

/** Parses checkpoint note text (e.g. OpenedNote.text). Throws MalformedCheckpointError. */
export function parseCheckpoint(text: string): Checkpoint {
  const bad = (problem: string): never => {
    throw new MalformedCheckpointError(`malformed checkpoint: ${problem}`);
  };
  if (typeof text !== 'string' || !text.endsWith('\n')) bad('text must end with a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) bad('expected origin, tree size and root hash lines');
  if (lines.some((line) => line.length === 0)) bad('lines must not be empty');
  if (!isValidNoteContent(text)) bad('invalid Unicode or a control character');
  const [origin, sizeText, rootText, ...extensions] = lines as [string, string, string, ...string[]];
  if (!/^(0|[1-9][0-9]*)$/.test(sizeText)) bad('tree size must be decimal without leading zeros');
  const treeSize = Number(sizeText);
  if (!Number.isSafeInteger(treeSize)) bad('tree size is too large');
  let rootHash: Uint8Array;
  try {
    rootHash = fromBase64(rootText);
  } catch {
    return bad('root hash is not valid base64');
  }
  if (rootHash.length !== HASH_SIZE) bad(`root hash must be ${HASH_SIZE} bytes`);
  return extensions.length > 0 ? { origin, treeSize, rootHash, extensions } : { origin, treeSize, rootHash };
}

/**
 * Opens a signed checkpoint note and parses it. When `origin` is given the checkpoint must be
 * for that log. Throws NoteVerificationError (bad signature) or MalformedCheckpointError.
 */
export function openCheckpoint(
  note: string | Uint8Array,
  verifiers: string | VerifierKey | readonly (string | VerifierKey)[],
  origin?: string,
): { checkpoint: Checkpoint; verifiedBy: string[] } {
  const opened = openNote(note, verifiers);
  const checkpoint = parseCheckpoint(opened.text);
  if (origin !== undefined && checkpoint.origin !== origin) {
    throw new MalformedCheckpointError(`checkpoint is for origin ${checkpoint.origin}, expected ${origin}`);
  }
  return { checkpoint, verifiedBy: opened.verifiedBy };
}

/** Lower-case hex of a key ID, as it appears in key strings (e.g. "c74f20a3"). */
export function formatKeyHash(hash: number): string {
  return keyHashHex(hash);
}
