// C2SP signed-note and tlog-checkpoint tests, including known-answer vectors from
// golang.org/x/mod/sumdb/note (note_test.go), the reference implementation of the format.

import { describe, expect, it } from 'vitest';
import { fromBase64, toBase64, toHex } from '../src/encoding.ts';
import { emptyRoot, hashLeaf, rootFromLeafHashes } from '../src/merkle.ts';
import {
  formatCheckpoint,
  generateSigningKey,
  keyHash,
  MalformedCheckpointError,
  NoteVerificationError,
  openCheckpoint,
  openNote,
  parseCheckpoint,
  parseSignerKey,
  parseVerifierKey,
  signerKeyString,
  signingKeyFromSeed,
  signNote,
  verifierKeyString,
} from '../src/note.ts';

// From golang.org/x/mod/sumdb/note note_test.go.
const PETER_SIGNER = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const PETER_VERIFIER = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const ENOCH_VERIFIER = 'EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop';
const TEXT =
  "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const PETER_SIG =
  '\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n';
const ENOCH_SIG =
  '\u2014 EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n';

function noteError(run: () => unknown): NoteVerificationError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(NoteVerificationError);
    return error as NoteVerificationError;
  }
  throw new Error('expected a NoteVerificationError');
}

describe('key strings (known answers from golang.org/x/mod/sumdb/note)', () => {
  it('derives the Go signer key, public key, key hash and verifier string', () => {
    const key = parseSignerKey(PETER_SIGNER);
    expect(key.name).toBe('PeterNeumann');
    expect(keyHash(key.name, key.publicKey)).toBe(0xc74f20a3);
    expect(verifierKeyString(key.name, key.publicKey)).toBe(PETER_VERIFIER);
    expect(signerKeyString(key)).toBe(PETER_SIGNER);
    expect(toBase64(Uint8Array.of(1, ...key.publicKey))).toBe('ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW');
  });

  it('parses verifier keys and checks their hash', () => {
    const enoch = parseVerifierKey(ENOCH_VERIFIER);
    expect(enoch.name).toBe('EnochRoot');
    expect(enoch.keyHash).toBe(0xaf0cfe78);
    expect(verifierKeyString(enoch.name, enoch.publicKey)).toBe(ENOCH_VERIFIER);
  });

  it('rejects every truncation and single-character change of a key string, like Go', () => {
    for (const [key, parse] of [
      [PETER_VERIFIER, parseVerifierKey],
      [PETER_SIGNER, parseSignerKey],
    ] as const) {
      for (let i = 0; i <= key.length; i++) {
        for (let j = i + 1; j <= key.length; j++) {
          if (i === 0 && j === key.length) continue;
          expect(() => parse(key.slice(i, j)), key.slice(i, j)).toThrow(TypeError);
        }
      }
      for (let i = 0; i < key.length; i++) {
        const changed = key.slice(0, i) + String.fromCharCode(key.charCodeAt(i) + 1) + key.slice(i + 1);
        expect(() => parse(changed), changed).toThrow(TypeError);
      }
    }
    // Wrong key length and unknown algorithm, each with a matching key hash (from note_test.go).
    expect(() =>
      parseVerifierKey('PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=='),
    ).toThrow(TypeError);
    expect(() =>
      parseVerifierKey('PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'),
    ).toThrow(/signature type/);
  });

  it('generates self-consistent keys and rejects invalid names', () => {
    const key = generateSigningKey('example.com/log');
    expect(key.privateKey).toHaveLength(32);
    expect(key.publicKey).toHaveLength(32);
    expect(parseSignerKey(signerKeyString(key))).toEqual(key);
    expect(signingKeyFromSeed(key.name, key.privateKey).publicKey).toEqual(key.publicKey);
    expect(parseVerifierKey(verifierKeyString(key.name, key.publicKey)).publicKey).toEqual(key.publicKey);
    for (const name of ['', 'a b', 'a+b', 'tab\there', 'nbsp\u00a0', 'nel\u0085', 'lone\ud800']) {
      expect(() => generateSigningKey(name), JSON.stringify(name)).toThrow(TypeError);
    }
  });
});

describe('signed notes', () => {
  it('signs exactly like Go (Ed25519 is deterministic)', () => {
    expect(signNote(TEXT, parseSignerKey(PETER_SIGNER))).toBe(`${TEXT}\n${PETER_SIG}`);
  });

  it('opens the Go example notes: one known key, both known, ignoring unknown signatures', () => {
    const note = `${TEXT}\n${PETER_SIG}${ENOCH_SIG}`;
    const one = openNote(note, PETER_VERIFIER);
    expect(one.text).toBe(TEXT);
    expect(one.verifiedBy).toEqual(['PeterNeumann']);
    expect(one.signatures.map((s) => [s.name, s.keyHash, s.verified])).toEqual([
      ['PeterNeumann', 0xc74f20a3, true],
      ['EnochRoot', 0xaf0cfe78, false],
    ]);
    const both = openNote(note, [PETER_VERIFIER, parseVerifierKey(ENOCH_VERIFIER)]);
    expect(both.verifiedBy).toEqual(['PeterNeumann', 'EnochRoot']);
    expect(noteError(() => openNote(note, [])).reason).toBe('unverified');
    // Duplicate signature lines are tolerated; accepts bytes as well as text.
    expect(
      openNote(new TextEncoder().encode(`${TEXT}\n${PETER_SIG}${PETER_SIG}`), PETER_VERIFIER).verifiedBy,
    ).toEqual(['PeterNeumann']);
  });

  it('round-trips with generated keys and supports several signers', () => {
    const a = generateSigningKey('log.example/a');
    const b = generateSigningKey('witness.example/b');
    const text = 'line one\n\nline three after an empty line\n';
    const note = signNote(text, [a, b]);
    expect(note.startsWith(`${text}\n\u2014 log.example/a `)).toBe(true);
    const opened = openNote(note, [
      verifierKeyString(a.name, a.publicKey),
      verifierKeyString(b.name, b.publicKey),
    ]);
    expect(opened.text).toBe(text);
    expect(opened.verifiedBy).toEqual(['log.example/a', 'witness.example/b']);
  });

  it('rejects a tampered note and a wrong key', () => {
    const key = generateSigningKey('log.example');
    const verifier = verifierKeyString(key.name, key.publicKey);
    const note = signNote('log.example\n5\nAAAA\n', key);
    expect(noteError(() => openNote(note.replace('\n5\n', '\n6\n'), verifier)).reason).toBe(
      'invalid-signature',
    );
    const other = generateSigningKey('log.example');
    // Same name, different key: its key ID differs, so the signature is simply unknown.
    expect(noteError(() => openNote(note, verifierKeyString(other.name, other.publicKey))).reason).toBe(
      'unverified',
    );
    // A corrupted signature from the known key rejects the whole note.
    const sigStart = note.lastIndexOf(' ') + 1;
    const raw = fromBase64(note.slice(sigStart, -1));
    raw[10]! ^= 1;
    const forged = `${note.slice(0, sigStart)}${toBase64(raw)}\n`;
    expect(noteError(() => openNote(forged, verifier)).reason).toBe('invalid-signature');
    // Inserting "ABCD" into the signature (from note_test.go).
    const goForged = `${TEXT}\n${PETER_SIG.slice(0, 60)}ABCD${PETER_SIG.slice(60)}`;
    expect(noteError(() => openNote(goForged, PETER_VERIFIER)).reason).toBe('invalid-signature');
  });

  it('rejects malformed notes (cases from note_test.go)', () => {
    const bad = [
      TEXT,
      `${TEXT}\n`,
      `${TEXT}\n${PETER_SIG.slice(0, -1)}`,
      `\u0001${TEXT}\n${PETER_SIG}`,
      `${TEXT}\n\u2014 Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=`,
      `${TEXT}\n${PETER_SIG}Unexpected line.\n`,
      `${TEXT}\n- PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`,
      `${TEXT}\n\u2014 PeterNeumann\n`,
      `${TEXT}\n\u2014 PeterNeumann AAAA\n`,
      `${TEXT}\n\u2014 PeterNeumann not*base64\n`,
      `${TEXT}\r\n${PETER_SIG}`,
    ];
    for (const note of bad)
      expect(noteError(() => openNote(note, PETER_VERIFIER)).reason, note).toBe('malformed');
    const invalidUtf8 = new Uint8Array([0xff, ...new TextEncoder().encode(`${TEXT}\n${PETER_SIG}`)]);
    expect(noteError(() => openNote(invalidUtf8, PETER_VERIFIER)).reason).toBe('malformed');
    expect(noteError(() => openNote(`${TEXT}\n${PETER_SIG.repeat(101)}`, PETER_VERIFIER)).reason).toBe(
      'too-many-signatures',
    );
  });

  it('refuses ambiguous verifier lists only when a signature needs them', () => {
    const key = generateSigningKey('dup');
    const vkey = parseVerifierKey(verifierKeyString(key.name, key.publicKey));
    const impostor = { ...vkey, publicKey: generateSigningKey('dup').publicKey };
    const note = signNote('x\n', key);
    expect(noteError(() => openNote(note, [vkey, impostor])).reason).toBe('ambiguous-key');
    expect(openNote(note, [vkey, vkey]).verifiedBy).toEqual(['dup']);
    expect(openNote(`${TEXT}\n${PETER_SIG}`, [PETER_VERIFIER, vkey, impostor]).verifiedBy).toEqual([
      'PeterNeumann',
    ]);
  });

  it('refuses to sign text that cannot round-trip', () => {
    const key = generateSigningKey('k');
    expect(() => signNote('no final newline', key)).toThrow(TypeError);
    expect(() => signNote('bell \u0007\n', key)).toThrow(TypeError);
    expect(() => signNote('x\n', [])).toThrow(TypeError);
  });
});

describe('checkpoints', () => {
  const root = rootFromLeafHashes([hashLeaf(new Uint8Array([1])), hashLeaf(new Uint8Array([2]))]);

  it('formats the C2SP example layout and parses it back', () => {
    const example = 'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n';
    const parsed = parseCheckpoint(example);
    expect(parsed.origin).toBe('example.com/behind-the-sofa');
    expect(parsed.treeSize).toBe(20852163);
    expect(toBase64(parsed.rootHash)).toBe('CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=');
    expect(parsed.extensions).toBeUndefined();
    expect(formatCheckpoint(parsed)).toBe(example);
  });

  it('round-trips with extension lines and the empty tree', () => {
    const cp = {
      origin: 'logbook.example/default',
      treeSize: 2,
      rootHash: root,
      extensions: ['ext one', 'ext two'],
    };
    const text = formatCheckpoint(cp);
    expect(text).toBe(`logbook.example/default\n2\n${toBase64(root)}\next one\next two\n`);
    expect(parseCheckpoint(text)).toEqual(cp);
    const empty = { origin: 'o', treeSize: 0, rootHash: emptyRoot() };
    expect(formatCheckpoint(empty)).toBe('o\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n');
    expect(parseCheckpoint(formatCheckpoint(empty))).toEqual(empty);
  });

  it('rejects malformed checkpoint text', () => {
    const r = toBase64(root);
    for (const text of [
      `o\n2\n${r}`,
      `o\n2\n`,
      `\n2\n${r}\n`,
      `o\n02\n${r}\n`,
      `o\n-2\n${r}\n`,
      `o\n2.0\n${r}\n`,
      `o\n 2\n${r}\n`,
      `o\n99999999999999999999\n${r}\n`,
      `o\n2\n${r.slice(0, -4)}\n`,
      `o\n2\n${toHex(root)}\n`,
      `o\n2\n${r}\n\next\n`,
    ]) {
      expect(() => parseCheckpoint(text), JSON.stringify(text)).toThrow(MalformedCheckpointError);
    }
    expect(() => formatCheckpoint({ origin: 'a\nb', treeSize: 1, rootHash: root })).toThrow(TypeError);
    expect(() => formatCheckpoint({ origin: 'o', treeSize: -1, rootHash: root })).toThrow(TypeError);
    expect(() => formatCheckpoint({ origin: 'o', treeSize: 1, rootHash: root.subarray(1) })).toThrow(
      TypeError,
    );
    expect(() => formatCheckpoint({ origin: 'o', treeSize: 1, rootHash: root, extensions: [''] })).toThrow(
      TypeError,
    );
  });

  it('signs and opens a checkpoint, checking the origin', () => {
    const key = generateSigningKey('logbook.example/default');
    const verifier = verifierKeyString(key.name, key.publicKey);
    const note = signNote(formatCheckpoint({ origin: key.name, treeSize: 2, rootHash: root }), key);
    const { checkpoint, verifiedBy } = openCheckpoint(note, verifier, 'logbook.example/default');
    expect(checkpoint).toEqual({ origin: key.name, treeSize: 2, rootHash: root });
    expect(verifiedBy).toEqual([key.name]);
    expect(() => openCheckpoint(note, verifier, 'other.example')).toThrow(MalformedCheckpointError);
    const tampered = note.replace('\n2\n', '\n1\n');
    expect(() => openCheckpoint(tampered, verifier)).toThrow(NoteVerificationError);
  });
});
