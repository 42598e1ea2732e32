//! Helpers shared by the integration tests, each kept once: scripted OTLP servers
//! (`servers`), the binary as a child process (`bin`), the repository's files and JSON readers
//! (`files`), the pipeline tests' requests and clients (`pipeline`), and third-party peer
//! processes (`peers`).
//!
//! Which tests may run beside which is not decided here but in `.config/nextest.toml`: nextest
//! runs every test in its own process, so a helper can hold no lock and share no server.

#![allow(dead_code)] // each test module uses a different subset

pub mod bin;
pub mod files;
pub mod peers;
pub mod pipeline;
pub mod servers;

pub use bin::{Ran, ServeChild, bin, run_bin, sigterm, wait_for_line};
pub use files::{assert_matches_schema, hex, n, profile, read_json};
pub use servers::*;
