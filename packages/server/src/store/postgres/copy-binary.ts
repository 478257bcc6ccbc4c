// Rows for PostgreSQL's binary COPY (`COPY t (cols) FROM STDIN (FORMAT binary)`), encoded in Node, and a query that
// sends several statements with their COPY data in a single round trip (the append path's steps). Values only ever
// travel as typed binary fields or parameters, never as SQL text; table and column names are the caller's constants.
import pg from 'pg';

const { types } = pg;

/** "PGCOPY\n\377\r\n\0", then flags and header-extension length (both 0). */
const HEADER = Buffer.from([
  0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00, 0, 0, 0, 0, 0, 0, 0, 0,
]);
/** Bytes of a CopyData message header ('d' and an int32 length), reserved at the start of every chunk. */
const FRAME = 5;
/** Size of the buffers rows are written into; each is sent as one CopyData message (rows may span two). */
const CHUNK_BYTES = 128 * 1024;
const COPY_DONE = Buffer.from([0x63, 0, 0, 0, 4]);
const TWO_32 = 2 ** 32;

/** Strings up to this length are copied byte by byte when ASCII: cheaper than a call into the encoder. */
const SHORT_STRING = 48;

/** Writes `value` as UTF-8 at `pos` (the caller made room for 3 bytes per code unit); returns the end. */
function writeUtf8(buf: Buffer, value: string, pos: number): number {
  if (value.length <= SHORT_STRING) {
    let i = 0;
    for (; i < value.length; i++) {
      const c = value.charCodeAt(i);
      if (c >= 0x80) break;
      buf[pos + i] = c;
    }
    if (i === value.length) return pos + i;
  }
  return pos + buf.write(value, pos, 'utf8');
}

/**
 * Binary COPY data for one table, as framed CopyData messages; fields are appended in the COPY's column order. With
 * a sink, each message leaves as soon as it is full (PostgreSQL works on it while the next rows are encoded);
 * without one they are kept for end().
 */
export class BinaryRows {
  private readonly kept: Buffer[] = [];
  private buf = Buffer.allocUnsafe(CHUNK_BYTES);
  private pos = FRAME;
  private ended = false;
  count = 0;

  constructor(private readonly sink?: (message: Buffer) => void) {
    this.pos += HEADER.copy(this.buf, FRAME);
  }

  /** Makes room for `bytes` more; the filled part of the current buffer becomes a message of its own. */
  private room(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return;
    this.seal();
    this.buf = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, FRAME + bytes));
    this.pos = FRAME;
  }

  private seal(): void {
    this.buf[0] = 0x64; // 'd': CopyData
    this.buf.writeInt32BE(this.pos - 1, 1);
    const message = this.buf.subarray(0, this.pos);
    if (this.sink) this.sink(message);
    else this.kept.push(message);
  }

  row(fields: number): this {
    this.room(2);
    this.pos = this.buf.writeInt16BE(fields, this.pos);
    this.count++;
    return this;
  }

  int2(value: number): this {
    this.room(6);
    this.pos = this.buf.writeInt32BE(2, this.pos);
    this.pos = this.buf.writeInt16BE(value, this.pos);
    return this;
  }

  /** A bigint, or a safe non-negative integer number (no BigInt allocated for the common case). */
  int8(value: number | bigint | null): this {
    if (value === null) return this.nullField();
    this.room(12);
    this.pos = this.buf.writeInt32BE(8, this.pos);
    if (typeof value === 'number' && value >= 0 && Number.isSafeInteger(value)) {
      this.pos = this.buf.writeUInt32BE(Math.floor(value / TWO_32), this.pos);
      this.pos = this.buf.writeUInt32BE(value % TWO_32, this.pos);
    } else {
      this.pos = this.buf.writeBigInt64BE(BigInt(value), this.pos);
    }
    return this;
  }

  /** UTF-8 text; the caller has already applied toPgText (PostgreSQL text cannot hold U+0000). */
  text(value: string | null): this {
    if (value === null) return this.nullField();
    // At most 3 bytes of UTF-8 per UTF-16 code unit.
    this.room(4 + value.length * 3);
    const end = writeUtf8(this.buf, value, this.pos + 4);
    this.buf.writeInt32BE(end - this.pos - 4, this.pos);
    this.pos = end;
    return this;
  }

  bytea(value: Uint8Array | null): this {
    if (value === null) return this.nullField();
    this.room(4 + value.length);
    this.pos = this.buf.writeInt32BE(value.length, this.pos);
    this.buf.set(value, this.pos);
    this.pos += value.length;
    return this;
  }

  /**
   * A tsvector in tsvectorrecv's format: lexeme count, then per lexeme its NUL-terminated UTF-8 text, its position
   * count and positions (weight D = 0). Positions must be strictly increasing and lexemes distinct
   * (lexemePositions guarantees both); PostgreSQL sorts the lexemes itself.
   */
  tsvector(lexemes: Map<string, number | number[]>): this {
    let bound = 8;
    for (const [word, positions] of lexemes) {
      bound += word.length * 3 + 5 + (typeof positions === 'number' ? 0 : positions.length * 2);
    }
    this.room(bound);
    const buf = this.buf;
    const start = this.pos;
    let pos = buf.writeInt32BE(lexemes.size, start + 4);
    for (const [word, positions] of lexemes) {
      pos = writeUtf8(buf, word, pos);
      buf[pos++] = 0;
      if (typeof positions === 'number') {
        buf[pos++] = 0;
        buf[pos++] = 1;
        buf[pos++] = positions >> 8;
        buf[pos++] = positions & 0xff;
      } else {
        pos = buf.writeUInt16BE(positions.length, pos);
        for (const p of positions) pos = buf.writeUInt16BE(p, pos);
      }
    }
    buf.writeInt32BE(pos - start - 4, start);
    this.pos = pos;
    return this;
  }

  private nullField(): this {
    this.room(4);
    this.pos = this.buf.writeInt32BE(-1, this.pos);
    return this;
  }

  /** Adds the trailer and CopyDone; returns the messages not yet given to the sink. Nothing may follow. */
  end(): Buffer[] {
    if (this.ended) throw new Error('BinaryRows.end() called twice');
    this.ended = true;
    this.room(2);
    this.pos = this.buf.writeInt16BE(-1, this.pos);
    this.seal();
    if (this.sink) this.sink(COPY_DONE);
    else this.kept.push(COPY_DONE);
    return this.kept;
  }
}

/** One statement of a BatchQuery: SQL with text parameters ($1…), or a COPY that reads the data sent behind it. */
export interface Statement {
  text: string;
  values?: (string | null)[];
  copy?: boolean;
  /**
   * Prepares the statement once per connection under this name and reuses it: PostgreSQL parses and plans it again
   * only until it settles on a generic plan (planning the append path's statements over the partitions was ~30% of
   * PostgreSQL's CPU for single-event appends). One name, one text.
   */
  name?: string;
}

/** Per connection: names of statements known to be prepared there, or whose preparation a failure left in doubt. */
const preparedOn = new WeakMap<object, Map<string, 'prepared' | 'in doubt'>>();

/**
 * An append group at least this large lets the next group form once its data is sent (services/append-queue.ts):
 * what fills smaller groups is the requests their commit answers, and splitting those only adds transactions.
 */
export const HAND_OFF_MIN_ROWS = 256;

/** The statement that reads one table's rows from the data sent behind it in a BatchQuery. */
export const copyFrom = (table: string, columns: readonly string[]): Statement => ({
  text: `COPY ${table} (${columns.join(', ')}) FROM STDIN (FORMAT binary)`,
  copy: true,
});

/** Rows of one statement of a BatchQuery, values parsed as node-postgres parses them (int8 as string, bytea Buffer). */
export type BatchRows = Record<string, unknown>[];

/** The part of node-postgres's connection a BatchQuery writes to (extended-protocol messages, raw CopyData). */
interface WireConnection {
  parse(query: { text: string; name?: string }): void;
  bind(config: { values: (string | null)[]; statement?: string }): void;
  close(message: { type: 'S'; name: string }): void;
  describe(message: { type: 'P' }): void;
  execute(config: Record<string, never>): void;
  sync(): void;
  stream: NodeJS.WritableStream;
}

/**
 * Several statements sent as one pipeline of the extended protocol (Parse/Bind/Describe/Execute each, one Sync at
 * the end), with the data of its `COPY … FROM STDIN` statements written right behind them, without waiting for
 * PostgreSQL's go-ahead: a whole step of a transaction is one round trip, and PostgreSQL works on the first rows
 * while Node still encodes the rest. Every statement takes its own snapshot, as separate queries do. If one fails,
 * PostgreSQL skips everything up to the Sync, COPY data included; the query rejects with that error.
 */
export class BatchQuery implements pg.Submittable {
  private connection: WireConnection | null = null;
  /** The next statement to write; statements after a COPY wait until its data has been sent. */
  private next = 0;
  private readonly pending: Buffer[] = [];
  private readonly results: BatchRows[] = [];
  private parsers: { name: string; parse: (value: string) => unknown }[] = [];
  private failed = false;
  private synced = false;
  /** Statements PostgreSQL has completed (one CommandComplete each, in order). */
  private completed = 0;
  /** Named statements this query parses, by their index: prepared only if their statement ran. */
  private readonly parsing: { index: number; name: string }[] = [];
  /** Set by pg's client (which may wrap it with its query_timeout timer). */
  callback: (error: Error | null) => void = () => {};

  constructor(private readonly statements: (Statement | string)[]) {}

  /** Queues the query on `client`; resolves, once every statement has run, with the rows of those that return any. */
  start(client: pg.PoolClient): Promise<BatchRows[]> {
    const done = new Promise<BatchRows[]>((resolve, reject) => {
      this.callback = (error) => (error ? reject(error) : resolve(this.results));
    });
    client.query(this);
    return done;
  }

  /**
   * Starts the query, then runs `encode`, which sends the COPY statements' data through `send` (PostgreSQL works on
   * the first rows while the rest are encoded). If encoding throws, PostgreSQL gets CopyFail, the query is let finish
   * and the error is rethrown, so the caller's transaction rolls back. `encode` must do nothing after its last COPY's
   * data: the statements behind it (COMMIT among them) leave with that CopyDone. Resolves like start().
   */
  async stream(
    client: pg.PoolClient,
    encode: (send: (message: Buffer) => void) => void,
  ): Promise<BatchRows[]> {
    const done = this.start(client);
    try {
      encode(this.send);
    } catch (error) {
      this.fail('encoding failed');
      await done.catch(() => {});
      throw error;
    }
    return done;
  }

  /** Sends one message of COPY data (CopyData or CopyDone), for the COPY statements in the order they appear. */
  readonly send = (message: Buffer): void => {
    if (!this.connection) {
      this.pending.push(message);
      return;
    }
    this.connection.stream.write(message);
    if (message[0] === COPY_DONE[0]) this.advance();
  };

  /** Abandons the data (a failure while encoding): PostgreSQL fails the COPY in progress, and with it the query. */
  fail(reason: string): void {
    const text = Buffer.from(`${reason}\0`, 'utf8');
    const message = Buffer.allocUnsafe(5 + text.length);
    message[0] = 0x66; // 'f': CopyFail
    message.writeInt32BE(4 + text.length, 1);
    text.copy(message, 5);
    if (!this.connection) {
      this.pending.push(message);
      return;
    }
    this.connection.stream.write(message);
    this.next = this.statements.length;
    this.advance();
  }

  /** Writes the statements up to the next COPY (whose data follows), or to the end and the Sync. */
  private advance(): void {
    const connection = this.connection!;
    while (this.next < this.statements.length) {
      const index = this.next++;
      const raw = this.statements[index]!;
      const statement: Statement = typeof raw === 'string' ? { text: raw } : raw;
      const { name } = statement;
      if (name === undefined) connection.parse({ text: statement.text });
      else {
        const prepared = preparedOn.get(connection) ?? new Map<string, 'prepared' | 'in doubt'>();
        preparedOn.set(connection, prepared);
        const state = prepared.get(name);
        if (state !== 'prepared') {
          // Closing a statement that does not exist is no error: after a failure, start again either way.
          if (state === 'in doubt') connection.close({ type: 'S', name });
          connection.parse({ text: statement.text, name });
          prepared.set(name, 'in doubt');
          this.parsing.push({ index, name });
        }
      }
      connection.bind({ values: statement.values ?? [], ...(name === undefined ? {} : { statement: name }) });
      connection.describe({ type: 'P' });
      connection.execute({});
      if (statement.copy) return;
    }
    if (!this.synced) {
      this.synced = true;
      connection.sync();
    }
  }

  submit(connection: pg.Connection): void {
    this.connection = connection as unknown as WireConnection;
    this.advance();
    for (const message of this.pending.splice(0)) {
      if (message[0] === 0x66) this.fail(message.subarray(5, message.length - 1).toString('utf8'));
      else this.send(message);
    }
  }

  handleRowDescription(message: { fields: { name: string; dataTypeID: number }[] }): void {
    this.parsers = message.fields.map((f) => ({
      name: f.name,
      parse: types.getTypeParser(f.dataTypeID, 'text') as (value: string) => unknown,
    }));
    this.results.push([]);
  }

  handleDataRow(message: { fields: (string | null)[] }): void {
    const row: Record<string, unknown> = {};
    for (const [i, { name, parse }] of this.parsers.entries()) {
      const value = message.fields[i];
      row[name] = value === null || value === undefined ? null : parse(value);
    }
    this.results[this.results.length - 1]!.push(row);
  }

  handleCopyInResponse(): void {
    // The data is already on its way.
  }

  /** COMMIT of a transaction that had already failed answers "ROLLBACK" without an error: that is a failure here. */
  handleCommandComplete(message: { text: string }): void {
    this.completed++;
    if (message.text === 'ROLLBACK' && !this.failed) {
      this.failed = true;
      this.callback(new Error('COMMIT answered ROLLBACK: the transaction had already failed'));
    }
  }
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyData(): void {}

  handleError(error: Error): void {
    // Whatever failed, every statement this connection thought prepared is prepared again next time: a failure
    // can be one of them gone ("prepared statement does not exist": DEALLOCATE, or a pooler that switched the
    // server connection underneath).
    const prepared = this.connection ? preparedOn.get(this.connection) : undefined;
    for (const name of prepared?.keys() ?? []) prepared!.set(name, 'in doubt');
    this.failed = true;
    this.callback(error);
  }

  handleReadyForQuery(): void {
    // A statement that ran was parsed; one that failed, and those PostgreSQL skipped after it, stay in doubt. (pg's
    // client drops a query at its ErrorResponse, so after a failure this is not even called: all stay in doubt.)
    const prepared = this.connection ? preparedOn.get(this.connection) : undefined;
    for (const { index, name } of this.parsing) if (index < this.completed) prepared?.set(name, 'prepared');
    if (!this.failed) this.callback(null);
  }
}
