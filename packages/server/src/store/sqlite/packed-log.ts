// The SQLite reader of packed log windows (Store.readLogPacked), written once as a self-contained function so that
// the store runs it in this thread and the verifier's worker threads run the same code on their own read-only
// connections (its source is shipped to them). It must not reference anything outside its own body.
import { createRequire } from 'node:module';
import type Database from 'better-sqlite3';
import type { PackedLogWindow, PackedLogWorker, PackedMerkleLevel } from '../store.ts';

type Db = Database.Database;
type Reader = (tenant: string, fromSeq: number, limit: number) => PackedLogWindow | null;

/** Non-negative integers printed by group_concat ("3,4,5"); null unless there are exactly `count` of them. */
export function parseIntegerList(text: string, count: number): Float64Array | null {
  const values = new Float64Array(count);
  let n = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 44;
    if (c === 44) {
      if (digits === 0 || n === count || !Number.isSafeInteger(value)) return null;
      values[n++] = value;
      value = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57 && digits < 16) {
      value = value * 10 + (c - 48);
      digits += 1;
    } else {
      return null;
    }
  }
  return n === count ? values : null;
}

/**
 * Returns readLogPacked over `db`. `SqliteError` is better-sqlite3's error class (an engine refusal → null);
 * `parseIntegers` is parseIntegerList, passed in so that this function's source stands alone.
 */
export function packedLogReader(
  db: Db,
  SqliteError: new (...args: never[]) => Error,
  parseIntegers: typeof parseIntegerList,
): Reader {
  const MMAP_BYTES = 2 ** 40; // SQLite caps it at its compile-time maximum
  // One aggregate row per window: SQLite concatenates, JavaScript receives a few large values instead of twelve per
  // entry. The aggregates consume the ordered subquery row by row, so every list is in seq order; the verifier still
  // checks the seqs. typeof() and json_array() keep types exact (json_array refuses a blob). A redacted entry makes
  // the window irregular: the verifier reads it exactly. The spare byte before the first body comes with that row
  // (when it is the one at fromSeq: otherwise the lengths do not add up and the window is not packed), not from
  // prefixing the whole concatenation, which would copy every body once more.
  //
  // Memory-mapped reads: a verify reads each page about once, so copying pages into the page cache (and, in a fresh
  // process, faulting in a cache as large as the database) costs more than it saves. Logbook never shrinks the file
  // (no VACUUM, no auto_vacuum), the one thing a mapping handles badly; past the mapped size SQLite reads as before.
  try {
    db.pragma(`mmap_size = ${MMAP_BYTES}`);
  } catch {}
  const statement = db
    .prepare(
      `SELECT count(*),
         sum(typeof(seq) = 'integer' AND typeof(leaf_hash) = 'blob' AND length(leaf_hash) = 32 AND redacted_by IS NULL),
         group_concat(seq), group_concat(length(CAST(body AS BLOB))),
         CAST(group_concat(iif(seq = ?, x'00' || CAST(body AS BLOB), CAST(body AS BLOB)), x'00') AS BLOB),
         CAST(group_concat(leaf_hash, '') AS BLOB),
         CAST(group_concat(json_array(id, tenant, occurred_ms, action, actor_id, target_type, target_id, outcome, ip), '')
           AS BLOB)
       FROM (SELECT seq, body, leaf_hash, id, tenant, occurred_ms, action, actor_id, target_type, target_id, outcome, ip,
               redacted_by
             FROM events WHERE tenant = ? AND seq >= ? ORDER BY seq LIMIT ?)`,
    )
    .raw(true);
  // The stored nodes the window completes, one level per statement as getMerkleLevel reads them, but packed: the
  // verifier compares each level with one memcmp instead of an object and a Buffer per node.
  let nodeStatement: Database.Statement | null = null;
  try {
    nodeStatement = db
      .prepare(
        `SELECT count(*), sum(typeof(idx) = 'integer' AND typeof(hash) = 'blob' AND length(hash) = 32),
           group_concat(idx), CAST(group_concat(hash, '') AS BLOB)
         FROM (SELECT idx, hash FROM merkle_nodes WHERE tenant = ? AND level = ? AND idx >= ? AND idx <= ? ORDER BY idx)`,
      )
      .raw(true);
  } catch {}

  /** The levels that could be packed exactly; any other level is left out (the verifier reads it by itself). */
  const readNodes = (tenant: string, fromSeq: number, count: number): PackedMerkleLevel[] => {
    const levels: PackedMerkleLevel[] = [];
    if (!nodeStatement) return levels;
    for (let level = 1, width = 2; width <= fromSeq + count; level++, width *= 2) {
      const first = Math.floor(fromSeq / width);
      const last = Math.floor((fromSeq + count) / width) - 1;
      if (last < first) continue;
      let row: [number, number | null, string | null, Uint8Array | null];
      try {
        row = nodeStatement.get(tenant, level, first, last) as typeof row;
      } catch (error) {
        if (error instanceof SqliteError) continue;
        throw error;
      }
      const [n, regular, indexList, hashes] = row;
      if (n === 0) {
        levels.push({ level, indexes: new Float64Array(0), hashes: new Uint8Array(0) });
        continue;
      }
      if (regular !== n || !indexList || !hashes || hashes.length !== n * 32) continue;
      const indexes = parseIntegers(indexList, n);
      if (indexes) levels.push({ level, indexes, hashes });
    }
    return levels;
  };

  return (tenant, fromSeq, limit) => {
    let packed: [
      number,
      number | null,
      string | null,
      string | null,
      Uint8Array | null,
      Uint8Array | null,
      Uint8Array | null,
    ];
    try {
      packed = statement.get(fromSeq, tenant, fromSeq, limit) as typeof packed;
    } catch (error) {
      if (error instanceof SqliteError) return null; // e.g. a column holding a blob: readLog shows it as is
      throw error;
    }
    const [count, regular, seqList, lengthList, bodies, leafHashes, columns] = packed;
    if (count === 0) {
      const empty = new Uint8Array(0);
      return {
        count,
        seqs: new Float64Array(0),
        bodies: empty,
        bodyOffsets: new Uint32Array(1),
        leafHashes: empty,
        columns: empty,
      };
    }
    if (regular !== count || !seqList || !lengthList || !bodies || !leafHashes || !columns) return null;
    const seqs = parseIntegers(seqList, count);
    const lengths = parseIntegers(lengthList, count);
    if (!seqs || !lengths || leafHashes.length !== count * 32) return null;
    const bodyOffsets = new Uint32Array(count + 1);
    let at = 0;
    for (let i = 0; i < count; i++) {
      bodyOffsets[i] = at;
      at += 1 + lengths[i]!;
    }
    bodyOffsets[count] = at;
    if (at !== bodies.length) return null;
    return {
      count,
      seqs,
      bodies,
      bodyOffsets,
      leafHashes,
      columns,
      nodes: readNodes(tenant, fromSeq, count),
    };
  };
}

/** How a worker thread opens the same reader on its own read-only connection to `file`. */
export function packedLogWorker(file: string): PackedLogWorker {
  return {
    source: `(data) => {
      const Database = require(data.driver);
      const db = new Database(data.file, { readonly: true });
      db.pragma('cache_size = -65536');
      return (${packedLogReader.toString()})(db, Database.SqliteError, ${parseIntegerList.toString()});
    }`,
    data: { driver: createRequire(import.meta.url).resolve('better-sqlite3'), file },
  };
}
