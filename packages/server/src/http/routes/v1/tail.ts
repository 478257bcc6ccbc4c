// Live tails as Server-Sent Events: GET /api/v1/events/tail and /api/v1/logs/tail. Parse, ask the tail service for
// the entry stream, write it out. A connection's unsent bytes stay bounded: past maxBufferedBytes nothing more is read
// for it until the socket drains, and one that stays stalled is closed with a `reconnect` event (README "Live tail").
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ErrorBodySchema, EventTailQuery, LogTailQuery, TAIL_LIMITS } from '@logbook/protocol';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { TailItem, TailService } from '../../../services/tail.ts';
import { principalOf } from '../../plugins/auth.ts';

export type TailHttpOptions = Partial<Record<keyof typeof TAIL_LIMITS, number>>;

const errors = { 400: ErrorBodySchema, 401: ErrorBodySchema, 403: ErrorBodySchema };
const SSE_DESCRIPTION =
  'Server-Sent Events (`text/event-stream`): one `data:` JSON entry per event with an `id:`; reconnect with the `Last-Event-ID` header (or `?lastEventId=`) to resume without loss. Comment lines (`: ping`) are heartbeats. A client that reads too slowly receives `event: reconnect` with the id to resume from, and is disconnected.';

export const tailRoutes: FastifyPluginAsyncTypebox<{ tail: TailService; options?: TailHttpOptions }> = async (
  app,
  { tail, options },
) => {
  const limits = { ...TAIL_LIMITS, ...options };
  const open = new Set<AbortController>();
  // Streams never end by themselves: closing the server ends them first (preClose), else close() would wait for them.
  app.addHook('preClose', async () => {
    for (const controller of open) controller.abort();
  });

  const lastEventId = (request: FastifyRequest): string | undefined => {
    const header = request.headers['last-event-id'];
    return typeof header === 'string' ? header.trim() : undefined;
  };

  /** Writes the stream until the client goes, the server closes, or the client is too slow. */
  async function stream(
    request: FastifyRequest,
    reply: FastifyReply,
    controller: AbortController,
    items: AsyncGenerator<TailItem[]>,
  ): Promise<void> {
    const res = reply.raw;
    reply.hijack();
    res.writeHead(200, {
      ...(reply.getHeaders() as Record<string, string>),
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      // A stream ends only by a drop or the server closing: then the connection goes too (no keep-alive reuse).
      connection: 'close',
      'x-accel-buffering': 'no',
      'x-content-type-options': 'nosniff',
      'x-request-id': request.id,
    });
    res.write(`retry: ${limits.retryMs}\n: connected\n\n`);
    const closed = () => controller.abort();
    res.on('close', closed);
    const heartbeat = setInterval(() => {
      if (res.writableLength < limits.maxBufferedBytes) res.write(': ping\n\n');
    }, limits.heartbeatMs);
    let lastSent: string | null = lastEventId(request) ?? null;
    /** Resolves true when the socket drained, false when it stayed full for stallTimeoutMs or closed. */
    const drained = () =>
      new Promise<boolean>((resolve) => {
        const finish = (ok: boolean) => {
          clearTimeout(timer);
          res.off('drain', onDrain);
          controller.signal.removeEventListener('abort', onAbort);
          resolve(ok);
        };
        const onDrain = () => finish(true);
        const onAbort = () => finish(false);
        const timer = setTimeout(() => finish(false), limits.stallTimeoutMs);
        res.on('drain', onDrain);
        controller.signal.addEventListener('abort', onAbort, { once: true });
      });
    try {
      outer: for await (const batch of items) {
        for (const item of batch) {
          if (controller.signal.aborted) break outer;
          res.write(`id: ${item.id}\ndata: ${JSON.stringify(item.data)}\n\n`);
          lastSent = item.id;
          if (res.writableLength > limits.maxBufferedBytes && !(await drained())) {
            if (!controller.signal.aborted) {
              // Too slow: say where to resume, then go. The bytes already queued stay bounded by the limit + one entry.
              res.write(
                `event: reconnect\ndata: ${JSON.stringify({ reason: 'slow-consumer', lastEventId: lastSent })}\n\n`,
              );
              request.log.info({ lastEventId: lastSent }, 'tail client too slow: disconnected');
              // end() below waits for the client to read what is queued (at most the limit plus this event); one that
              // never does is cut off for good after a grace period.
              setTimeout(() => res.destroy(), limits.closeGraceMs).unref();
            }
            break outer;
          }
        }
      }
    } catch (error) {
      request.log.warn({ err: error }, 'tail stream failed');
      if (!res.destroyed) {
        res.write(
          `event: reconnect\ndata: ${JSON.stringify({ reason: 'server-error', lastEventId: lastSent })}\n\n`,
        );
      }
    } finally {
      clearInterval(heartbeat);
      res.off('close', closed);
      controller.abort();
      await items.return(undefined).catch(() => {});
      open.delete(controller);
      if (!res.destroyed) res.end();
    }
  }

  app.get(
    '/api/v1/events/tail',
    {
      // A HEAD of an endless stream would never end: only GET.
      exposeHeadRoute: false,
      config: { scope: 'audit:read' },
      schema: {
        tags: ['events'],
        summary: 'Live tail of audit events (Server-Sent Events), with the list filters',
        description: `${SSE_DESCRIPTION} Event ids are the events' seq in the tenant log.`,
        querystring: EventTailQuery,
        response: errors,
      },
    },
    async (request, reply) => {
      const controller = new AbortController();
      const items = await tail.events(
        principalOf(request),
        request.query,
        lastEventId(request),
        controller.signal,
      );
      open.add(controller);
      await stream(request, reply, controller, items);
    },
  );

  app.get(
    '/api/v1/logs/tail',
    {
      // A HEAD of an endless stream would never end: only GET.
      exposeHeadRoute: false,
      config: { scope: 'logging:read' },
      schema: {
        tags: ['logs'],
        summary: 'Live tail of system log entries (Server-Sent Events), with the list filters',
        description: SSE_DESCRIPTION,
        querystring: LogTailQuery,
        response: errors,
      },
    },
    async (request, reply) => {
      const controller = new AbortController();
      const items = await tail.logs(
        principalOf(request),
        request.query,
        lastEventId(request),
        controller.signal,
      );
      open.add(controller);
      await stream(request, reply, controller, items);
    },
  );
};
