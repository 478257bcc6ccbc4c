// FTS5 text for the SQLite adapter: search terms (event and log tables) and the exact-key tokens of events_keys. Pure.
// User text never becomes FTS5 syntax: terms are quoted literal phrases, key values are hex-encoded.
import type { SearchTerm } from '../../query/search-terms.ts';

/** FTS5 syntax for parsed terms: each a quoted literal phrase, so no user text is ever an operator. */
export function fts5Query(terms: SearchTerm[]): string {
  return terms.map((t) => `"${t.phrase.replaceAll('"', '""')}"${t.prefix ? '*' : ''}`).join(' ');
}

/** Which key a token stands for: actor, target type, target id, target (type and id together), and action. */
const KEY_TOKEN_PREFIXES = { actor: 'a', targetType: 'y', targetId: 'i', target: 't', action: 'c' } as const;

const hex = (value: string) => Buffer.from(value, 'utf8').toString('hex');

// Every token of an event, and mostly every event of a group, has the same tenant: its hex is kept.
let lastTenant = { tenant: '', hex: '' };
function tenantHex(tenant: string): string {
  if (tenant !== lastTenant.tenant) lastTenant = { tenant, hex: hex(tenant) };
  return lastTenant.hex;
}

/** One exact-key token (migration 0008 builds the same text in SQL): hex never contains 'x', the separator. */
function keyToken(kind: keyof typeof KEY_TOKEN_PREFIXES, tenant: string, ...values: string[]): string {
  return `${KEY_TOKEN_PREFIXES[kind]}${tenantHex(tenant)}x${values.map(hex).join('x')}`;
}

/** The events_keys text of one event: its actor, target and action keys as tokens. */
export function eventKeyTokens(event: {
  tenant: string;
  action: string;
  actorId: string;
  targetType: string | null;
  targetId: string | null;
}): string {
  // Each value is hex-encoded once (the target's type and id appear in two tokens each); same text as keyToken.
  const p = KEY_TOKEN_PREFIXES;
  const tenant = tenantHex(event.tenant);
  let tokens = `${p.actor}${tenant}x${hex(event.actorId)} ${p.action}${tenant}x${hex(event.action)}`;
  const type = event.targetType === null ? null : hex(event.targetType);
  const id = event.targetId === null ? null : hex(event.targetId);
  if (type !== null) tokens += ` ${p.targetType}${tenant}x${type}`;
  if (id !== null) tokens += ` ${p.targetId}${tenant}x${id}`;
  if (type !== null && id !== null) tokens += ` ${p.target}${tenant}x${type}x${id}`;
  return tokens;
}

/**
 * The events_keys MATCH expression for a filter's key conditions, or null when it has none. Tokens are plain
 * alphanumerics (the only syntax is ours: AND, OR, parentheses, a trailing `*` for an action prefix), never user
 * text; the caller still compares the columns, which makes matches exact.
 */
export function eventKeysQuery(filter: {
  tenant: string;
  actorId?: string;
  targetType?: string;
  targetId?: string;
  actions?: { exact: string[]; prefixes: string[] };
}): string | null {
  const tokens: string[] = [];
  if (filter.actions) {
    // Exact actions and prefixes are alternatives. hex(prefix) is a prefix of hex(action) exactly when the action
    // starts with the prefix (hex is per byte), so an action prefix is an FTS5 token prefix; FTS5 merges the matching
    // doclists in rowid (time) order, where a B-tree range over actions had to sort every match.
    const alternatives = [
      ...filter.actions.exact.map((action) => keyToken('action', filter.tenant, action)),
      ...filter.actions.prefixes.map((prefix) => `${keyToken('action', filter.tenant, prefix)}*`),
    ];
    if (alternatives.length > 0) tokens.push(`(${alternatives.join(' OR ')})`);
  }
  if (filter.actorId !== undefined) tokens.push(keyToken('actor', filter.tenant, filter.actorId));
  if (filter.targetType !== undefined && filter.targetId !== undefined)
    tokens.push(keyToken('target', filter.tenant, filter.targetType, filter.targetId));
  else if (filter.targetType !== undefined)
    tokens.push(keyToken('targetType', filter.tenant, filter.targetType));
  else if (filter.targetId !== undefined) tokens.push(keyToken('targetId', filter.tenant, filter.targetId));
  return tokens.length > 0 ? tokens.join(' AND ') : null;
}
