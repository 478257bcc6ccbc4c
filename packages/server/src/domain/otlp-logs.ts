// The OpenTelemetry log data model (OTLP ExportLogsServiceRequest, JSON field names) mapped onto Logbook's log entry:
// severity number/text → level, resource service.name → service, body → message, attributes → details, trace and
// span ids. Pure. It must never throw anything but a 400 on odd input: an exporter's batch is data, not code.
import { LOG_LIMITS, LogbookError, type LogEntryInput, type LogLevel } from '@logbook/protocol';
import { DEFAULT_SERVICE, parseLevel } from './log-entry.ts';
import { MAX_TIME_MS, MIN_TIME_MS, toIso } from './time.ts';

/** OTLP AnyValue / KeyValue as in the OTLP/JSON encoding (the protobuf decoder produces the same shape). */
export interface OtlpAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number | string;
  arrayValue?: { values?: OtlpAnyValue[] };
  kvlistValue?: { values?: OtlpKeyValue[] };
  bytesValue?: string;
}
export interface OtlpKeyValue {
  key?: string;
  value?: OtlpAnyValue;
}
export interface OtlpLogRecord {
  timeUnixNano?: string | number;
  observedTimeUnixNano?: string | number;
  severityNumber?: number | string;
  severityText?: string;
  body?: OtlpAnyValue;
  attributes?: OtlpKeyValue[];
  traceId?: string;
  spanId?: string;
  eventName?: string;
}
export interface OtlpLogsRequest {
  resourceLogs?: {
    resource?: { attributes?: OtlpKeyValue[] };
    scopeLogs?: { scope?: { name?: string; version?: string }; logRecords?: OtlpLogRecord[] }[];
  }[];
}

/** OTLP SeverityNumber ranges (1–4 TRACE … 21–24 FATAL) onto Logbook's levels; TRACE is DEBUG. */
const SEVERITY_RANGES: readonly [number, LogLevel][] = [
  [4, 'DEBUG'],
  [8, 'DEBUG'],
  [12, 'INFO'],
  [16, 'WARN'],
  [20, 'ERROR'],
  [24, 'FATAL'],
];
/** Severity names as the protobuf enum spells them (an OTLP/JSON sender may send the name instead of the number). */
const SEVERITY_NAME = /^SEVERITY_NUMBER_([A-Z]+)\d?$/;

const bad = (field: string, message: string): LogbookError =>
  new LogbookError('VALIDATION_FAILED', `${field} ${message}`, {
    issues: [{ field, rule: 'otlp', message }],
  });

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function list<T>(value: unknown, field: string): T[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw bad(field, 'must be an array');
  return value as T[];
}

const MAX_DEPTH = 32;

/** An AnyValue as plain JSON: strings, numbers, booleans, arrays, objects (bytes as base64, big ints as strings). */
export function anyValueToJson(value: unknown, field: string, depth = 0): unknown {
  if (depth > MAX_DEPTH) throw bad(field, `is nested deeper than ${MAX_DEPTH} levels`);
  if (!isObject(value)) return null;
  if (typeof value.stringValue === 'string') return value.stringValue;
  if (typeof value.boolValue === 'boolean') return value.boolValue;
  if (value.intValue !== undefined && value.intValue !== null) {
    const n = Number(value.intValue);
    return Number.isSafeInteger(n) ? n : String(value.intValue);
  }
  if (value.doubleValue !== undefined && value.doubleValue !== null) {
    const n = Number(value.doubleValue);
    return Number.isFinite(n) ? n : String(value.doubleValue);
  }
  if (isObject(value.arrayValue)) {
    return list<unknown>(value.arrayValue.values, `${field}/arrayValue/values`).map((v, i) =>
      anyValueToJson(v, `${field}/arrayValue/values/${i}`, depth + 1),
    );
  }
  if (isObject(value.kvlistValue)) {
    return keyValuesToObject(value.kvlistValue.values, `${field}/kvlistValue/values`, depth + 1);
  }
  if (typeof value.bytesValue === 'string') return value.bytesValue;
  return null;
}

function keyValuesToObject(values: unknown, field: string, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [i, kv] of list<unknown>(values, field).entries()) {
    if (!isObject(kv) || typeof kv.key !== 'string') throw bad(`${field}/${i}/key`, 'must be a string');
    const value = anyValueToJson(kv.value, `${field}/${i}/value`, depth);
    // __proto__ as an attribute name must stay data, never reach the prototype.
    if (kv.key === '__proto__') {
      Object.defineProperty(out, kv.key, { value, enumerable: true, writable: true, configurable: true });
    } else out[kv.key] = value;
  }
  return out;
}

/** Unix nanoseconds (a decimal string or a number) → epoch ms; null when absent, zero or outside Logbook's range. */
function nanosToMs(value: unknown, field: string): number | null {
  if (value === undefined || value === null || value === '' || value === 0 || value === '0') return null;
  let ms: number;
  if (typeof value === 'number' && Number.isFinite(value)) ms = Math.floor(value / 1e6);
  else if (typeof value === 'string' && /^[0-9]{1,20}$/.test(value)) ms = Number(BigInt(value) / 1_000_000n);
  else throw bad(field, 'must be Unix nanoseconds (a decimal string or number)');
  return ms >= MIN_TIME_MS && ms < MAX_TIME_MS ? ms : null;
}

function levelOf(record: OtlpLogRecord): LogLevel {
  const n = record.severityNumber;
  const number =
    typeof n === 'number' ? n : typeof n === 'string' && /^\d+$/.test(n) ? Number(n) : Number.NaN;
  if (number >= 1 && number <= 24) return SEVERITY_RANGES.find(([max]) => number <= max)![1];
  if (typeof n === 'string') {
    const named = SEVERITY_NAME.exec(n)?.[1];
    if (named) {
      const level = parseLevel(named);
      if (level) return level;
    }
  }
  if (typeof record.severityText === 'string') {
    const level = parseLevel(record.severityText.trim());
    if (level) return level;
  }
  return 'INFO';
}

/** A trace/span id as lower-case hex; absent when missing or all zeros (OTLP's "no id"). */
function hexId(value: unknown, digits: number, field: string): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string' || value.length !== digits || !HEX.test(value)) {
    throw bad(field, `must be ${digits} hex digits`);
  }
  return /^0+$/.test(value) ? undefined : value.toLowerCase();
}

const HEX = /^[0-9a-fA-F]+$/;

function truncateUtf8(text: string, maxBytes: number): string {
  if (text.length * 3 <= maxBytes || Buffer.byteLength(text) <= maxBytes) return text;
  // Cut on a character boundary: decoding a cut multi-byte sequence would add U+FFFD.
  const cut = Buffer.from(text)
    .subarray(0, maxBytes - 3)
    .toString('utf8')
    .replace(/\uFFFD$/, '');
  return `${cut}…`;
}

export interface OtlpMappedEntry {
  input: LogEntryInput;
  /** Where the record was in the request, for errors: body/resourceLogs/0/scopeLogs/1/logRecords/7. */
  field: string;
}

/**
 * Every log record of an export request as a Logbook entry input. Oversized messages are truncated and oversized
 * details replaced by a note rather than refused: an exporter does not retry a 400, so one huge record would
 * otherwise lose the whole batch.
 */
export function mapOtlpLogs(request: unknown, receivedMs: number): OtlpMappedEntry[] {
  if (!isObject(request)) throw bad('body', 'must be an ExportLogsServiceRequest object');
  const out: OtlpMappedEntry[] = [];
  for (const [r, resourceLogs] of list<unknown>(request.resourceLogs, 'body/resourceLogs').entries()) {
    const rField = `body/resourceLogs/${r}`;
    if (!isObject(resourceLogs)) throw bad(rField, 'must be an object');
    const resource = isObject(resourceLogs.resource)
      ? keyValuesToObject(resourceLogs.resource.attributes, `${rField}/resource/attributes`)
      : {};
    const serviceName = resource['service.name'];
    const hostName = resource['host.name'];
    const { 'service.name': _service, ...otherResource } = resource;
    for (const [s, scopeLogs] of list<unknown>(resourceLogs.scopeLogs, `${rField}/scopeLogs`).entries()) {
      const sField = `${rField}/scopeLogs/${s}`;
      if (!isObject(scopeLogs)) throw bad(sField, 'must be an object');
      const scope = isObject(scopeLogs.scope) ? scopeLogs.scope : {};
      for (const [l, record] of list<unknown>(scopeLogs.logRecords, `${sField}/logRecords`).entries()) {
        const field = `${sField}/logRecords/${l}`;
        if (!isObject(record)) throw bad(field, 'must be an object');
        const rec = record as OtlpLogRecord;
        const timestampMs =
          nanosToMs(rec.timeUnixNano, `${field}/timeUnixNano`) ??
          nanosToMs(rec.observedTimeUnixNano, `${field}/observedTimeUnixNano`) ??
          receivedMs;
        const body = rec.body === undefined ? '' : anyValueToJson(rec.body, `${field}/body`);
        const message = typeof body === 'string' ? body : body === null ? '' : JSON.stringify(body);
        const details: Record<string, unknown> = keyValuesToObject(rec.attributes, `${field}/attributes`);
        if (typeof rec.eventName === 'string' && rec.eventName !== '') details['event.name'] = rec.eventName;
        if (Object.keys(otherResource).length > 0) details.resource = otherResource;
        if (typeof scope.name === 'string' && scope.name !== '') {
          details.scope = {
            name: scope.name,
            ...(typeof scope.version === 'string' && scope.version ? { version: scope.version } : {}),
          };
        }
        const detailsBytes = Buffer.byteLength(JSON.stringify(details));
        const traceId = hexId(rec.traceId, 32, `${field}/traceId`);
        const spanId = hexId(rec.spanId, 16, `${field}/spanId`);
        const input: LogEntryInput = {
          timestamp: toIso(timestampMs),
          level: levelOf(rec),
          service:
            typeof serviceName === 'string' && serviceName !== ''
              ? serviceName.slice(0, 128)
              : DEFAULT_SERVICE,
          message: truncateUtf8(message, LOG_LIMITS.maxMessageBytes),
          ...(Object.keys(details).length > 0
            ? {
                details:
                  detailsBytes <= LOG_LIMITS.maxDetailsBytes
                    ? details
                    : { truncated: true, bytes: detailsBytes, note: 'attributes exceeded the details limit' },
              }
            : {}),
          ...(traceId ? { traceId } : {}),
          ...(spanId ? { spanId } : {}),
          ...(typeof hostName === 'string' && hostName !== '' ? { host: hostName.slice(0, 256) } : {}),
        };
        out.push({ input, field });
      }
    }
  }
  return out;
}
