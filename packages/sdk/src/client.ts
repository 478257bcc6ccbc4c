// The typed Logbook client: every request and answer type is Static<> of the protocol's TypeBox schemas, the same
// ones the server validates with. Browser-safe (global fetch, Web Crypto): nothing Node-only is imported here; the
// Node exit hook is in node.ts. It must never retry a write that is not idempotent.
import type {
  AdminListQuery,
  ApiKey,
  ApiKeyCreate,
  ApiKeyCreated,
  ApiKeyList,
  AppendEventsResponse,
  AppendedEvent,
  AppendLogsResponse,
  AuditEvent,
  CheckpointQuery,
  CheckpointResponse,
  ConsistencyProofQuery,
  ConsistencyProofResponse,
  EventInput,
  EventListQuery,
  EventListResponse,
  EventStats,
  EventStatsQuery,
  EventTailQuery,
  InclusionProofQuery,
  InclusionProofResponse,
  LogEntry,
  LogEntryInput,
  LoginResponse,
  LogListQuery,
  LogListResponse,
  LogStats,
  LogStatsQuery,
  LogTailQuery,
  PublicKeyResponse,
  RedactEventsInput,
  RedactEventsResponse,
  User,
  UserCreate,
  UserList,
  VerifierKey,
} from '@logbook/protocol';
import { type BatcherOptions, EventBatcher } from './batcher.ts';
import { LogbookVerificationError } from './errors.ts';
import { Paginator } from './paginate.ts';
import { type Tailed, type TailOptions, tailStream } from './sse.ts';
import { Transport, type TransportOptions } from './transport.ts';
import { prepareEventInput } from './validate.ts';
import { type EventVerification, pinnedKey, verifyEventProof } from './verify.ts';

export interface LogbookClientOptions extends TransportOptions {
  /**
   * The checkpoint signing key to trust, as its C2SP verifier key string (`logbook.example+1a2b3c4d+AV…`, the
   * `note` of GET /api/v1/integrity/public-key, or the data dir's checkpoint-signing.pub). Needed by verifyEvent.
   * Pin a copy obtained out of band: a key fetched from the server being checked proves nothing.
   */
  publicKey?: string | VerifierKey;
}

type ListQuery<Q> = Omit<Q, 'cursor'> & { cursor?: string };
const path = (id: string) => encodeURIComponent(id);

export class LogbookClient {
  readonly transport: Transport;
  private readonly publicKey: VerifierKey | undefined;

  constructor(options: LogbookClientOptions) {
    this.transport = new Transport(options);
    this.publicKey = options.publicKey ? pinnedKey(options.publicKey) : undefined;
  }

  readonly events = {
    /**
     * Records one event, or several in one request, and resolves once durably stored. Each event gets a client id
     * (unless it has one), so the automatic retries after a lost answer never store it twice.
     */
    create: (async (input: EventInput | EventInput[], options: { signal?: AbortSignal } = {}) => {
      const many = Array.isArray(input);
      const events = (many ? input : [input]).map((e) => prepareEventInput(e));
      const answer = await this.transport.request<AppendEventsResponse>('POST', '/api/v1/events', {
        body: { events },
        idempotent: true,
        ...options,
      });
      return many ? answer.events : answer.events[0];
    }) as {
      (input: EventInput, options?: { signal?: AbortSignal }): Promise<AppendedEvent>;
      (input: EventInput[], options?: { signal?: AbortSignal }): Promise<AppendedEvent[]>;
    },

    /** A background batcher over this client (see BatcherOptions); close() it when done. */
    batcher: (options?: BatcherOptions): EventBatcher => new EventBatcher(this.transport, options),

    /** Every matching event, page after page (`for await`); `.pages()` gives the pages and their cursors. */
    list: (query: ListQuery<EventListQuery> = {}): Paginator<AuditEvent> => {
      const { cursor, ...rest } = query;
      return new Paginator(
        (next) => this.events.page({ ...rest, ...(next ? { cursor: next } : {}) }),
        cursor,
      );
    },

    /** One page of events (with `total` when includeTotal). */
    page: (query: EventListQuery = {}): Promise<EventListResponse> =>
      this.transport.request('GET', '/api/v1/events', { query, idempotent: true }),

    get: (id: string, options: { tenant?: string } = {}): Promise<AuditEvent> =>
      this.transport.request('GET', `/api/v1/events/${path(id)}`, { query: options, idempotent: true }),

    stats: (query: EventStatsQuery = {}): Promise<EventStats> =>
      this.transport.request('GET', '/api/v1/events/stats', { query, idempotent: true }),

    /** Live events after now (or after `lastEventId`), reconnecting without loss. */
    tail: (query: EventTailQuery = {}, options: TailOptions = {}): AsyncGenerator<Tailed<AuditEvent>> => {
      const { lastEventId, follow, ...filters } = query;
      return tailStream<AuditEvent>(this.transport, '/api/v1/events/tail', filters, {
        ...(lastEventId !== undefined ? { lastEventId } : {}),
        ...(follow !== undefined ? { follow } : {}),
        ...options,
      });
    },

    /** Deletes event payloads (admin); leaf hashes stay, so proofs still verify. */
    redact: (input: RedactEventsInput): Promise<RedactEventsResponse> =>
      this.transport.request('POST', '/api/v1/events/redact', { body: input }),
  };

  readonly logs = {
    /**
     * Stores system log entries (one request; up to 10 000). Not retried automatically: log entries carry no client
     * id, so a retry after a lost answer could store them twice.
     */
    create: (input: LogEntryInput | LogEntryInput[]): Promise<AppendLogsResponse> =>
      this.transport.request('POST', '/api/v1/logs', {
        body: { logs: Array.isArray(input) ? input : [input] },
      }),

    list: (query: ListQuery<LogListQuery> = {}): Paginator<LogEntry> => {
      const { cursor, ...rest } = query;
      return new Paginator((next) => this.logs.page({ ...rest, ...(next ? { cursor: next } : {}) }), cursor);
    },

    page: (query: LogListQuery = {}): Promise<LogListResponse> =>
      this.transport.request('GET', '/api/v1/logs', { query, idempotent: true }),

    get: (id: string, options: { tenant?: string } = {}): Promise<LogEntry> =>
      this.transport.request('GET', `/api/v1/logs/${path(id)}`, { query: options, idempotent: true }),

    stats: (query: LogStatsQuery = {}): Promise<LogStats> =>
      this.transport.request('GET', '/api/v1/logs/stats', { query, idempotent: true }),

    tail: (query: LogTailQuery = {}, options: TailOptions = {}): AsyncGenerator<Tailed<LogEntry>> => {
      const { lastEventId, follow, ...filters } = query;
      return tailStream<LogEntry>(this.transport, '/api/v1/logs/tail', filters, {
        ...(lastEventId !== undefined ? { lastEventId } : {}),
        ...(follow !== undefined ? { follow } : {}),
        ...options,
      });
    },
  };

  readonly integrity = {
    /** The latest signed checkpoint (or the one at `treeSize`). */
    checkpoint: (query: CheckpointQuery = {}): Promise<CheckpointResponse> =>
      this.transport.request('GET', '/api/v1/integrity/checkpoint', { query, idempotent: true }),

    /** Signs a checkpoint of the current tree head now (admin). */
    createCheckpoint: (options: { tenant?: string } = {}): Promise<CheckpointResponse> =>
      this.transport.request('POST', '/api/v1/integrity/checkpoint', { body: options, idempotent: true }),

    inclusionProof: (query: InclusionProofQuery): Promise<InclusionProofResponse> =>
      this.transport.request('GET', '/api/v1/integrity/proof/inclusion', { query, idempotent: true }),

    consistencyProof: (query: ConsistencyProofQuery): Promise<ConsistencyProofResponse> =>
      this.transport.request('GET', '/api/v1/integrity/proof/consistency', { query, idempotent: true }),

    /** The server's signing key. Useful to pin it once (trust on first use); never as the key to check it with. */
    publicKey: (): Promise<PublicKeyResponse> =>
      this.transport.request('GET', '/api/v1/integrity/public-key', { idempotent: true }),

    /**
     * Fetches the event, its inclusion proof and the signed checkpoint, and checks them locally against the pinned
     * `publicKey` (see verifyEventProof for exactly what is proved). Throws LogbookVerificationError.
     */
    verifyEvent: async (id: string, options: { tenant?: string } = {}): Promise<EventVerification> => {
      if (!this.publicKey) {
        throw new LogbookVerificationError(
          'no-public-key',
          'verifyEvent needs the pinned checkpoint key: pass `publicKey` (the verifier key string) to the client',
        );
      }
      const event = await this.events.get(id, options);
      const proof = await this.integrity.inclusionProof({ id: event.id, tenant: event.tenant });
      const note =
        proof.checkpoint ??
        (await this.integrity.checkpoint({ tenant: event.tenant, treeSize: proof.treeSize })).note;
      return verifyEventProof(event, proof, note, this.publicKey);
    },
  };

  readonly keys = {
    /** Creates an API key; the answer's `key` is the secret, shown only this once. */
    create: (input: ApiKeyCreate): Promise<ApiKeyCreated> =>
      this.transport.request('POST', '/api/v1/keys', { body: input }),
    list: async (query: AdminListQuery = {}): Promise<ApiKey[]> =>
      (await this.transport.request<ApiKeyList>('GET', '/api/v1/keys', { query, idempotent: true })).data,
    revoke: (id: string): Promise<ApiKey> =>
      this.transport.request('DELETE', `/api/v1/keys/${path(id)}`, { idempotent: true }),
  };

  readonly users = {
    create: (input: UserCreate): Promise<User> =>
      this.transport.request('POST', '/api/v1/users', { body: input }),
    list: async (query: AdminListQuery = {}): Promise<User[]> =>
      (await this.transport.request<UserList>('GET', '/api/v1/users', { query, idempotent: true })).data,
    disable: (id: string): Promise<User> =>
      this.transport.request('POST', `/api/v1/users/${path(id)}/disable`, { idempotent: true }),
    enable: (id: string): Promise<User> =>
      this.transport.request('POST', `/api/v1/users/${path(id)}/enable`, { idempotent: true }),
  };

  readonly auth = {
    /** Logs a local user in; use the token as `apiKey` of another client. */
    login: (username: string, password: string): Promise<LoginResponse> =>
      this.transport.request('POST', '/api/v1/auth/login', { body: { username, password } }),
  };
}

/** A client for `url` with `apiKey` (see LogbookClientOptions). */
export function createClient(options: LogbookClientOptions): LogbookClient {
  return new LogbookClient(options);
}
