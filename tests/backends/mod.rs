//! The verifier's backends against the real pipeline `scripts/real-pipeline.sh` starts
//! (OpenTelemetry Collector, Jaeger, Prometheus, Alertmanager on loopback). Each test starts its
//! own pipeline and fails, never skips, when a peer binary is missing.

mod spanmetrics;
