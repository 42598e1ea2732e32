//! span-sentinel: drive an unruly OTLP span load, run a well-behaved sentinel tenant through the same
//! pipeline, verify every outcome the sentinel should cause, and report whether verification
//! degrades under load.
//!
//! The module tree follows the data flow of `DESIGN.md` §3:
//! `config` (profile + flags → validated scenario) → `model` (what a trace looks like) →
//! `encode` (OTLP bytes, template-patched) → `engine` (paced workers) → `transport` (OTLP/gRPC,
//! OTLP/HTTP) → `pipeline` (the embedded reference backend) → `report` (JSON and terminal output).
//! `wire` is the small protobuf wire-format scanner both the encoder and the pipeline's ingest use.
//! `run` walks phases of sentinel plus load; `capacity` steps the load up on the same walker until
//! a sentinel check degrades; `fidelity` compares reported latency quantiles with exact ones.

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
pub mod progress;
pub mod report;
pub mod run;
pub mod sentinel;
pub mod transport;
pub mod verify;
pub mod watch;
pub mod wire;
