// OTLP/HTTP logs on every backend: the official OpenTelemetry JS exporters (JSON and protobuf), set up as a user
// would (LoggerProvider + BatchLogRecordProcessor + exporter with a URL and an Authorization header), send to a real
// listening server, and the records are then found by search with the mapping of the OpenTelemetry log data model.
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { ROOT_CONTEXT, TraceFlags, trace } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { OTLPLogExporter as OTLPHttpJsonExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as OTLPProtoExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, type TestApp } from './helpers.ts';
import { BACKENDS } from './support-backends.ts';

const TRACE_ID = '5b8efff798038103d269b633813fc60c';
const SPAN_ID = 'eee19b7ec3c1b174';

describe.each(BACKENDS)('OTLP/HTTP logs on %s', (backend) => {
  let t: TestApp;
  let base: string;
  const search = async (query: string) => {
    const res = await t.app.inject({
      method: 'GET',
      url: `/api/v1/logs?limit=100&${query}`,
      headers: t.auth,
    });
    expect(res.statusCode, res.body).toBe(200);
    return res.json().data as Record<string, unknown>[];
  };

  beforeAll(async () => {
    t = await makeTestApp({ backend });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await t.close();
  });

  for (const [encoding, Exporter] of [
    ['json', OTLPHttpJsonExporter],
    ['protobuf', OTLPProtoExporter],
  ] as const) {
    it(`@opentelemetry/exporter-logs-otlp-${encoding === 'json' ? 'http' : 'proto'}: records are stored and found by search`, async () => {
      const service = `checkout-${encoding}`;
      const exporter = new Exporter({
        url: `${base}/v1/logs`,
        headers: { Authorization: `Bearer ${t.adminKey}` },
      });
      const provider = new LoggerProvider({
        resource: resourceFromAttributes({
          'service.name': service,
          'host.name': 'web-3',
          'deployment.environment': 'test',
        }),
        processors: [new BatchLogRecordProcessor({ exporter })],
      });
      const logger = provider.getLogger('checkout-scope', '1.2.3');
      const spanContext = trace.setSpanContext(ROOT_CONTEXT, {
        traceId: TRACE_ID,
        spanId: SPAN_ID,
        traceFlags: TraceFlags.SAMPLED,
      });
      logger.emit({
        severityNumber: SeverityNumber.ERROR,
        severityText: 'ERROR',
        body: `payment gateway timeout ${encoding}`,
        attributes: { 'http.status_code': 504, retry: true, gateway: 'acquirer-x', tags: ['a', 'b'] },
        context: spanContext,
      });
      logger.emit({ severityNumber: SeverityNumber.WARN2, body: { event: 'cart.abandoned', items: 3 } });
      logger.emit({ severityText: 'debug', body: 'cache warm' });
      logger.emit({
        severityNumber: SeverityNumber.FATAL,
        body: 'out of memory',
        timestamp: new Date('2026-11-20T08:00:00Z'),
      });
      await provider.forceFlush();
      await provider.shutdown();

      const all = await search(`service=${service}&order=asc`);
      expect(all).toHaveLength(4);
      const [error] = await search(`service=${service}&q=gateway`);
      expect(error).toMatchObject({
        level: 'ERROR',
        service,
        host: 'web-3',
        message: `payment gateway timeout ${encoding}`,
        traceId: TRACE_ID,
        spanId: SPAN_ID,
        details: {
          'http.status_code': 504,
          retry: true,
          gateway: 'acquirer-x',
          tags: ['a', 'b'],
          resource: { 'host.name': 'web-3', 'deployment.environment': 'test' },
          scope: { name: 'checkout-scope', version: '1.2.3' },
        },
      });
      const [warn] = await search(`service=${service}&level=WARN`);
      expect(JSON.parse(String(warn!.message))).toEqual({ event: 'cart.abandoned', items: 3 });
      expect((await search(`service=${service}&level=DEBUG`)).map((e) => e.message)).toEqual(['cache warm']);
      const [fatal] = await search(`service=${service}&minLevel=FATAL`);
      expect(fatal!.timestamp).toBe('2026-11-20T08:00:00.000Z');
      expect((await search(`traceId=${TRACE_ID}&service=${service}`)).map((e) => e.message)).toEqual([
        `payment gateway timeout ${encoding}`,
      ]);
    });
  }

  it('an exporter without a credential is refused (401) and nothing is stored', async () => {
    const exporter = new OTLPProtoExporter({ url: `${base}/v1/logs` });
    const provider = new LoggerProvider({
      resource: resourceFromAttributes({ 'service.name': 'anonymous-otlp' }),
      processors: [new BatchLogRecordProcessor({ exporter })],
    });
    provider.getLogger('x').emit({ body: 'should not land' });
    await provider.forceFlush().catch(() => {});
    await provider.shutdown().catch(() => {});
    expect(await search('service=anonymous-otlp')).toEqual([]);
  });

  describe('the receiver directly', () => {
    const send = (payload: string | Buffer, headers: Record<string, string>) =>
      t.app.inject({ method: 'POST', url: '/v1/logs', headers: { ...t.auth, ...headers }, payload });

    it('OTLP/JSON with severity text only, gzip, and an empty request', async () => {
      const request = {
        resourceLogs: [
          {
            resource: { attributes: [{ key: 'service.name', value: { stringValue: 'otlp-direct' } }] },
            scopeLogs: [
              {
                logRecords: [
                  {
                    timeUnixNano: '1763630000000000000',
                    severityText: 'Warning',
                    body: { stringValue: 'by text' },
                  },
                  { severityNumber: 'SEVERITY_NUMBER_ERROR', body: { intValue: '42' } },
                  { body: { kvlistValue: { values: [{ key: '__proto__', value: { boolValue: true } }] } } },
                ],
              },
            ],
          },
        ],
      };
      const res = await send(gzipSync(JSON.stringify(request)), {
        'content-type': 'application/json',
        'content-encoding': 'gzip',
      });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toEqual({ partialSuccess: {} });
      const stored = await search('service=otlp-direct&order=asc');
      expect(stored.map((e) => [e.level, e.message])).toEqual([
        ['WARN', 'by text'],
        ['ERROR', '42'],
        ['INFO', '{"__proto__":true}'],
      ]);
      expect(stored[0]!.timestamp).toBe('2025-11-20T09:13:20.000Z');
      expect((await send('{}', { 'content-type': 'application/json' })).statusCode).toBe(200);
    });

    it('malformed requests are 4xx naming what is wrong', async () => {
      const cases: [string | Buffer, Record<string, string>, number, string][] = [
        [
          Buffer.from([0x0a, 0xff, 0xff, 0xff]),
          { 'content-type': 'application/x-protobuf' },
          400,
          'MALFORMED_JSON',
        ],
        ['{"resourceLogs": 5}', { 'content-type': 'application/json' }, 400, 'VALIDATION_FAILED'],
        [
          '{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"traceId":"xyz"}]}]}]}',
          { 'content-type': 'application/json' },
          400,
          'VALIDATION_FAILED',
        ],
        ['{"resourceLogs":', { 'content-type': 'application/json' }, 400, 'MALFORMED_JSON'],
        ['x', { 'content-type': 'text/plain' }, 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ];
      for (const [payload, headers, status, code] of cases) {
        const res = await send(payload, headers);
        expect(res.statusCode, res.body).toBe(status);
        expect(res.json().error.code).toBe(code);
      }
      const bad = await send('{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"traceId":"xyz"}]}]}]}', {
        'content-type': 'application/json',
      });
      expect(bad.json().error.issues[0].field).toBe('body/resourceLogs/0/scopeLogs/0/logRecords/0/traceId');
    });
  });
});
