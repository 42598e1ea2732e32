//! The `[peer]` section: a collector `run` starts between the generator and the embedded
//! pipeline (started and stopped by `harness::peer`).

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The `[peer]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerSection {
    /// The program and its arguments; the program is looked up on `PATH`.
    pub command: Vec<String>,
    /// Where spans go: the peer's OTLP receiver, e.g. `grpc://{peer_grpc}`.
    pub target: String,
    /// How long the peer may take to open its receiver.
    #[serde(with = "crate::units::duration", default = "default_startup")]
    pub startup_timeout: Duration,
}

fn default_startup() -> Duration {
    Duration::from_secs(30)
}
