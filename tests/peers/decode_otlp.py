#!/usr/bin/env python3
"""The independent decoder: reads captured OTLP trace export bodies with the official Python
`opentelemetry-proto` package and prints every span as one canonical JSON line.

Usage: decode_otlp.py FILE...   (FILE ending in .pb: protobuf, .json: OTLP JSON)

OTLP JSON differs from the protobuf JSON mapping in one way: trace and span IDs are hex, not
base64. They are turned into base64 before `json_format.ParseDict`, which otherwise enforces the
mapping strictly (lowerCamelCase keys, no unknown fields, 64-bit integers as strings or numbers,
enums as integers or names). Nothing here shares code with the Rust generator.
"""
import base64
import json
import sys

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

HEX_KEYS = ("traceId", "spanId", "parentSpanId")


def hex_ids_to_base64(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key in HEX_KEYS and isinstance(value, str):
                node[key] = base64.b64encode(bytes.fromhex(value)).decode()
            else:
                hex_ids_to_base64(value)
    elif isinstance(node, list):
        for item in node:
            hex_ids_to_base64(item)


def any_value(value):
    kind = value.WhichOneof("value")
    if kind is None:
        return [None, None]
    raw = getattr(value, kind)
    if kind == "int_value":
        raw = str(raw)
    elif kind == "bytes_value":
        raw = raw.hex()
    elif kind in ("array_value", "kvlist_value"):
        raw = json_format.MessageToDict(raw)
    return [kind, raw]


def attributes(kvs):
    return [[kv.key] + any_value(kv.value) for kv in kvs]


def canonical(resource_spans):
    service = None
    for kv in resource_spans.resource.attributes:
        if kv.key == "service.name":
            service = kv.value.string_value
    for scope_spans in resource_spans.scope_spans:
        for span in scope_spans.spans:
            yield {
                "service": service,
                "scope": [scope_spans.scope.name, scope_spans.scope.version],
                "traceId": span.trace_id.hex(),
                "spanId": span.span_id.hex(),
                "parentSpanId": span.parent_span_id.hex(),
                "traceState": span.trace_state,
                "flags": span.flags,
                "name": span.name,
                "kind": int(span.kind),
                "start": str(span.start_time_unix_nano),
                "end": str(span.end_time_unix_nano),
                "attributes": attributes(span.attributes),
                "droppedAttributesCount": span.dropped_attributes_count,
                "events": len(span.events),
                "links": len(span.links),
                "status": [int(span.status.code), span.status.message],
            }


def decode(path):
    request = trace_service_pb2.ExportTraceServiceRequest()
    with open(path, "rb") as f:
        body = f.read()
    if path.endswith(".json"):
        document = json.loads(body)
        hex_ids_to_base64(document)
        json_format.ParseDict(document, request)
    else:
        request.ParseFromString(body)
    return request


def main():
    for path in sys.argv[1:]:
        request = decode(path)
        spans = [s for rs in request.resource_spans for s in canonical(rs)]
        print(json.dumps({"file": path, "spans": spans}, sort_keys=True))


if __name__ == "__main__":
    main()
