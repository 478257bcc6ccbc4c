// Decoding of OTLP/HTTP protobuf log exports (application/x-protobuf) into the OTLP/JSON shape that
// domain/otlp-logs.ts maps. The message definitions below are copied from the official opentelemetry-proto
// (opentelemetry/proto/{common,resource,logs}/v1 and collector/logs/v1, same names and field numbers; fields Logbook
// does not read are left out, and protobuf skips unknown fields). Why protobufjs: docs/decisions.md.
import { LogbookError } from '@logbook/protocol';
import protobuf from 'protobufjs';

const OTLP_LOGS_PROTO = `
syntax = "proto3";
package opentelemetry.proto;

message AnyValue {
  oneof value {
    string string_value = 1;
    bool bool_value = 2;
    int64 int_value = 3;
    double double_value = 4;
    ArrayValue array_value = 5;
    KeyValueList kvlist_value = 6;
    bytes bytes_value = 7;
  }
}
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
message KeyValue { string key = 1; AnyValue value = 2; }
message InstrumentationScope {
  string name = 1;
  string version = 2;
  repeated KeyValue attributes = 3;
  uint32 dropped_attributes_count = 4;
}
message Resource {
  repeated KeyValue attributes = 1;
  uint32 dropped_attributes_count = 2;
}
message ResourceLogs {
  Resource resource = 1;
  repeated ScopeLogs scope_logs = 2;
  string schema_url = 3;
}
message ScopeLogs {
  InstrumentationScope scope = 1;
  repeated LogRecord log_records = 2;
  string schema_url = 3;
}
message LogRecord {
  fixed64 time_unix_nano = 1;
  fixed64 observed_time_unix_nano = 11;
  int32 severity_number = 2;
  string severity_text = 3;
  AnyValue body = 5;
  repeated KeyValue attributes = 6;
  uint32 dropped_attributes_count = 7;
  fixed32 flags = 8;
  bytes trace_id = 9;
  bytes span_id = 10;
  string event_name = 12;
}
message ExportLogsServiceRequest { repeated ResourceLogs resource_logs = 1; }
message ExportLogsPartialSuccess {
  int64 rejected_log_records = 1;
  string error_message = 2;
}
message ExportLogsServiceResponse { ExportLogsPartialSuccess partial_success = 1; }
`;

const root = protobuf.parse(OTLP_LOGS_PROTO, { keepCase: false }).root;
const ExportLogsServiceRequest = root.lookupType('opentelemetry.proto.ExportLogsServiceRequest');
const ExportLogsServiceResponse = root.lookupType('opentelemetry.proto.ExportLogsServiceResponse');

/** The (empty: everything accepted) ExportLogsServiceResponse, protobuf-encoded. */
export const OTLP_SUCCESS_RESPONSE: Buffer = Buffer.from(
  ExportLogsServiceResponse.encode(ExportLogsServiceResponse.create({})).finish(),
);

const base64ToHex = (value: unknown): unknown =>
  typeof value === 'string' ? Buffer.from(value, 'base64').toString('hex') : value;

/**
 * An ExportLogsServiceRequest in the OTLP/JSON shape: 64-bit integers as decimal strings, bytes as base64 except
 * trace and span ids, which OTLP/JSON writes as hex (so both encodings map through the same code).
 */
export function decodeOtlpLogsProtobuf(body: Uint8Array): unknown {
  let message: protobuf.Message;
  try {
    message = ExportLogsServiceRequest.decode(body);
  } catch (error) {
    throw new LogbookError(
      'MALFORMED_JSON',
      `The request body is not a protobuf ExportLogsServiceRequest: ${(error as Error).message}`,
      { issues: [{ field: 'body', rule: 'protobuf', message: 'must be an OTLP ExportLogsServiceRequest' }] },
    );
  }
  const object = ExportLogsServiceRequest.toObject(message, {
    longs: String,
    enums: Number,
    bytes: String,
    defaults: false,
    oneofs: false,
  }) as { resourceLogs?: { scopeLogs?: { logRecords?: Record<string, unknown>[] }[] }[] };
  for (const resourceLogs of object.resourceLogs ?? []) {
    for (const scopeLogs of resourceLogs.scopeLogs ?? []) {
      for (const record of scopeLogs.logRecords ?? []) {
        if (record.traceId !== undefined) record.traceId = base64ToHex(record.traceId);
        if (record.spanId !== undefined) record.spanId = base64ToHex(record.spanId);
      }
    }
  }
  return object;
}
