//! span-sentinel: drive an unruly OTLP span load, run a well-behaved sentinel tenant through the same
//! pipeline, verify every outcome the sentinel should cause, and report whether verification
//! degrades under load.
//!
//! The module tree follows the data flow described in `docs/architecture.md` (with each folder's
//! job, the invariants and the import rules):
//! `config` (profile + flags → validated plan) → `model` (what a trace looks like) →
//! `encode` (OTLP bytes, template-patched) → `engine` (paced workers) → `transport` (OTLP/gRPC,
//! OTLP/HTTP) → the target (`pipeline`, the embedded reference backend, or a peer) → `verify`
//! (checks and a verdict) → `report` (JSON, terminal, Markdown and HTML output).
//! `wire` is the protobuf wire-format reader both the encoder and the pipeline's ingest use.
//! `run` walks phases of sentinel plus load; `capacity` steps the load up on the same walker until
//! a sentinel check degrades; `watch` verifies the sentinel alone over rolling windows; `fidelity`
//! compares reported latency quantiles with exact ones.

pub mod capacity;
pub mod cli;
pub mod config;
pub mod encode;
pub mod engine;
pub mod error;
pub mod fidelity;
pub mod harness;
pub mod model;
pub mod pipeline;
pub mod placement;
pub mod progress;
pub mod report;
pub mod run;
pub mod sentinel;
pub mod transport;
pub mod units;
pub mod verify;
pub mod watch;
pub mod wire;
