//! The reference pipeline (`span-sentinel serve`): ingest, decoding, admission and isolation,
//! histograms, assembly, alerts, the query API and its behaviour on bad input.

#[path = "support/pipeline_support.rs"]
mod support;

mod alerts;
mod api;
mod assembly;
mod bad_input;
mod decode;
mod histograms;
mod isolation;
