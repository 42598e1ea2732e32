//! The reference pipeline (`span-sentinel serve`): ingest, decoding, admission and isolation,
//! histograms, assembly, alerts, the query API and its behaviour on bad input.

// Tests hold a std `RwLock` guard (`support::shared_slot` / `exclusive`) for their whole run,
// across awaits on purpose: each test has its own runtime, so this only serialises the
// timing-sensitive tests against the others.
#![allow(clippy::await_holding_lock)]

#[path = "support/pipeline_support.rs"]
pub(crate) mod support;

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
