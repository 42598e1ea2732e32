//! Admission: the bounded ingest queue in front of the worker pool, and the rules
//! that decide whether a request gets in.
//!
//! A request is acknowledged only after its batch is in the queue, and workers drain the queue
//! before they stop, so nothing acknowledged is ever dropped. When a request cannot get in, the
//! caller gets a [`Refusal`] with a retry delay, which ingest turns into gRPC
//! `RESOURCE_EXHAUSTED` + RetryInfo or HTTP 429 + `Retry-After`.

pub mod queue;

pub use queue::{AdmissionQueue, Batch};

use std::time::Duration;

/// Retry delay advertised when the queue is full.
pub const QUEUE_FULL_RETRY: Duration = Duration::from_millis(200);

/// Why a batch was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The queue (shared, or the tenant's own with fair isolation) is full.
    #[error("the ingest queue is full; retry after {retry_after:?}")]
    QueueFull {
        /// Suggested delay before a retry.
        retry_after: Duration,
    },
    /// The tenant is over its rate quota.
    #[error("the tenant is over its rate quota; retry after {retry_after:?}")]
    Quota {
        /// Time until the quota has room for the request.
        retry_after: Duration,
    },
    /// The pipeline is shutting down.
    #[error("the pipeline is shutting down")]
    Closed,
}

impl Refusal {
    /// The retry delay to advertise, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::QueueFull { retry_after } | Self::Quota { retry_after } => Some(*retry_after),
            Self::Closed => None,
        }
    }
}
