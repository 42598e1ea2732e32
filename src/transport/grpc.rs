//! OTLP/gRPC export through tonic, sending pre-encoded bytes.
