// Request bodies read as streams: NDJSON line by line (a large body is never held at once) and whole bodies with a
// byte limit, both optionally gzip-encoded. Every problem is a 4xx that names the line; nothing here throws a 500.
import { isUtf8 } from 'node:buffer';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { LogbookError } from '@logbook/protocol';
import secureJson from 'secure-json-parse';

/** The request stream decoded per Content-Encoding (identity or gzip). */
export function decodedBody(raw: Readable, encoding: string | undefined): Readable {
  const coding = (encoding ?? 'identity').trim().toLowerCase();
  if (coding === 'identity' || coding === '') return raw;
  if (coding === 'gzip' || coding === 'x-gzip') return raw.pipe(createGunzip());
  throw new LogbookError(
    'UNSUPPORTED_MEDIA_TYPE',
    `Content-Encoding "${coding.slice(0, 32)}" is not supported; send identity or gzip.`,
  );
}

function streamError(error: unknown): LogbookError {
  if (error instanceof LogbookError) return error;
  const code = (error as { code?: string }).code ?? '';
  if (code.startsWith('Z_'))
    return new LogbookError('MALFORMED_JSON', 'The request body is not valid gzip data.');
  return new LogbookError('MALFORMED_JSON', 'The request body could not be read to the end.');
}

/** A whole body (for protobuf and JSON that arrive compressed), refused beyond `maxBytes`. */
export async function readBody(stream: Readable, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream) {
      size += (chunk as Buffer).length;
      if (size > maxBytes) {
        stream.destroy();
        throw new LogbookError(
          'PAYLOAD_TOO_LARGE',
          `The request body is larger than the limit of ${maxBytes} bytes.`,
        );
      }
      chunks.push(chunk as Buffer);
    }
  } catch (error) {
    throw streamError(error);
  }
  return Buffer.concat(chunks);
}

export interface NdjsonLine {
  /** 1-based line number. */
  line: number;
  value: unknown;
}

/**
 * The JSON value of each non-blank line, in order. Throws (as the iterator's error) at the first line that is too
 * long, not UTF-8 or not JSON, naming it; the caller decides what happened to the lines before.
 */
export async function* ndjsonLines(
  stream: Readable,
  limits: { maxLineBytes: number; maxBodyBytes: number },
): AsyncGenerator<NdjsonLine> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let line = 0;
  let total = 0;
  const parse = (bytes: Buffer): NdjsonLine | null => {
    line += 1;
    let end = bytes.length;
    if (end > 0 && bytes[end - 1] === 0x0d) end -= 1; // CRLF
    const text = bytes.subarray(0, end);
    if (text.every((b) => b === 0x20 || b === 0x09)) return null;
    const field = `body/line/${line}`;
    if (!isUtf8(text)) {
      throw new LogbookError('MALFORMED_JSON', `line ${line} is not valid UTF-8`, {
        issues: [{ field, rule: 'utf8', message: 'must be UTF-8' }],
      });
    }
    try {
      return {
        line,
        value: secureJson.parse(text.toString('utf8'), undefined, {
          protoAction: 'error',
          constructorAction: 'error',
        }),
      };
    } catch (error) {
      const reason =
        error instanceof SyntaxError
          ? error.message
          : 'it uses a forbidden key (__proto__ or constructor.prototype)';
      throw new LogbookError('MALFORMED_JSON', `line ${line} is not valid JSON: ${reason}`, {
        issues: [{ field, rule: 'json', message: 'must be one JSON object' }],
      });
    }
  };
  const tooLong = () =>
    new LogbookError('PAYLOAD_TOO_LARGE', `line ${line + 1} is longer than ${limits.maxLineBytes} bytes`, {
      issues: [
        { field: `body/line/${line + 1}`, rule: 'maxBytes', message: `at most ${limits.maxLineBytes} bytes` },
      ],
    });
  let iterator: AsyncIterator<Buffer>;
  try {
    iterator = stream[Symbol.asyncIterator]();
  } catch (error) {
    throw streamError(error);
  }
  for (;;) {
    let next: IteratorResult<Buffer>;
    try {
      next = await iterator.next();
    } catch (error) {
      throw streamError(error);
    }
    if (next.done) break;
    const chunk = next.value;
    total += chunk.length;
    if (total > limits.maxBodyBytes) {
      stream.destroy();
      throw new LogbookError(
        'PAYLOAD_TOO_LARGE',
        `The NDJSON body is larger than ${limits.maxBodyBytes} bytes; split it.`,
      );
    }
    let start = 0;
    for (let nl = chunk.indexOf(0x0a, start); nl !== -1; nl = chunk.indexOf(0x0a, start)) {
      const piece = chunk.subarray(start, nl);
      start = nl + 1;
      if (pendingBytes + piece.length > limits.maxLineBytes) throw tooLong();
      const bytes = pending.length > 0 ? Buffer.concat([...pending, piece]) : piece;
      pending = [];
      pendingBytes = 0;
      const parsed = parse(bytes);
      if (parsed) yield parsed;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      pendingBytes += rest.length;
      if (pendingBytes > limits.maxLineBytes) throw tooLong();
      pending.push(rest);
    }
  }
  if (pendingBytes > 0) {
    const parsed = parse(Buffer.concat(pending));
    if (parsed) yield parsed;
  }
}
