//! The reference pipeline (`span-sentinel serve`): ingest, decoding, admission and isolation,
//! histograms, assembly, alerts, the query API and its behaviour on bad input.

mod admission;
mod alerts;
mod api;
mod assembly;
mod bad_input;
mod connections;
mod decode;
mod histograms;
mod isolation;
mod limits;
mod memory;
mod overload;
mod serve;
mod tenant_attribute;
