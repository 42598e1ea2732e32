//! The `[fidelity]` section and the plan of `span-sentinel fidelity`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::duration as dur;
use crate::fidelity::suite::{ALL, Distribution};

/// The `[fidelity]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FidelitySection {
    /// Which distributions to send (default: all of them).
    pub distributions: Vec<Distribution>,
    /// Spans sent per distribution.
    pub spans_per_distribution: usize,
    /// Spans per request.
    pub batch: usize,
    /// Service name of the spans (the operation is `fidelity/<seed>/<distribution>`).
    pub service: String,
    /// How long to wait for the target to count every accepted span.
    #[serde(with = "dur")]
    pub timeout: Duration,
}

impl Default for FidelitySection {
    fn default() -> Self {
        Self {
            distributions: ALL.to_vec(),
            spans_per_distribution: 2000,
            batch: 500,
            service: "sentinel-fidelity".into(),
            timeout: Duration::from_secs(10),
        }
    }
}
