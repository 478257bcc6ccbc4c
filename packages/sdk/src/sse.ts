// Live tails over Server-Sent Events read with fetch streaming (so the credential goes in a header, which the
// browser's EventSource cannot do). Reconnects after a drop or a `reconnect` event, resuming with Last-Event-ID, so
// nothing is skipped. Browser-safe. It must never yield an entry twice across a reconnect.
import { LogbookConnectionError } from './errors.ts';
import { backoffDelay, isRetryable, sleep, type Transport } from './transport.ts';

export interface SseMessage {
  id: string | undefined;
  event: string;
  data: string;
}

/** Parses an SSE byte stream (WHATWG "event stream interpretation"); comments and retry fields are skipped. */
export async function* parseSse(body: ReadableStream<Uint8Array>): AsyncGenerator<SseMessage> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let id: string | undefined;
  let event = '';
  let data: string[] = [];
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let newline = buffer.search(/\r\n|\r|\n/);
      while (newline >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + (buffer.startsWith('\r\n', newline) ? 2 : 1));
        if (line === '') {
          if (data.length > 0) yield { id, event: event || 'message', data: data.join('\n') };
          event = '';
          data = [];
        } else if (!line.startsWith(':')) {
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          let value = colon < 0 ? '' : line.slice(colon + 1);
          if (value.startsWith(' ')) value = value.slice(1);
          if (field === 'data') data.push(value);
          else if (field === 'event') event = value;
          else if (field === 'id' && !value.includes('\0')) id = value;
        }
        newline = buffer.search(/\r\n|\r|\n/);
      }
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

export interface TailOptions {
  /** Stop the tail (the iterator then ends). */
  signal?: AbortSignal;
  /** Resume after this entry id (the `tailId` of the last entry seen); default: from now. */
  lastEventId?: string;
  /** false: send what is after the resume point, then end (default true: follow forever). */
  follow?: boolean;
  /** Reconnect after a drop (default true). Set false to end instead. */
  reconnect?: boolean;
}

/** One tailed entry and its resume id. */
export type Tailed<T> = T & { tailId: string };

/**
 * Follows `path` as an async iterator of entries. Ends when `signal` aborts, when `follow: false` and the server
 * ended the stream, or (with reconnect: false) on a drop. Errors such as a 401 or a bad filter are thrown.
 */
export async function* tailStream<T>(
  transport: Transport,
  path: string,
  query: object,
  options: TailOptions = {},
): AsyncGenerator<Tailed<T>> {
  let lastEventId = options.lastEventId;
  const follow = options.follow ?? true;
  let failures = 0;
  while (!options.signal?.aborted) {
    let response: Response;
    try {
      ({ response } = await transport.send('GET', path, {
        query: { ...query, ...(follow ? {} : { follow: false }) },
        headers: { accept: 'text/event-stream', ...(lastEventId ? { 'last-event-id': lastEventId } : {}) },
        ...(options.signal ? { signal: options.signal } : {}),
        streaming: true,
      }));
    } catch (error) {
      if (options.signal?.aborted) return;
      if (options.reconnect === false || !isRetryable(error) || failures >= transport.retry.retries)
        throw error;
      await sleep(backoffDelay(failures++, transport.retry), options.signal).catch(() => {});
      continue;
    }
    if (!response.body)
      throw new LogbookConnectionError('The tail answered without a body', { timeout: false });
    failures = 0;
    try {
      for await (const message of parseSse(response.body)) {
        if (message.event === 'reconnect') break;
        if (message.event !== 'message') continue;
        const entry = JSON.parse(message.data) as T;
        if (message.id !== undefined) lastEventId = message.id;
        yield { ...entry, tailId: message.id ?? '' };
      }
    } catch (error) {
      if (options.signal?.aborted) return;
      if (options.reconnect === false) throw error;
    }
    if (!follow || options.reconnect === false || options.signal?.aborted) return;
    await sleep(backoffDelay(0, transport.retry), options.signal).catch(() => {});
  }
}
