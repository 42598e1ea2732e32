//! The backend layer against the real components, started by `scripts/real-pipeline.sh`: a
//! trace sent through the OpenTelemetry Collector and read back from Jaeger (v3 and v1 APIs),
//! what Jaeger changes in a span, and `span-sentinel run profiles/jaeger.toml` end to end, with
//! a wrong URL and with Jaeger killed mid-run. Every test starts real peer processes: the
//! coordinator runs this module serially. A missing binary fails the test, never skips it.

mod jaeger;
mod run;
mod spanmetrics;
mod support;
