//! The retry policy of the OTLP specification: exponential backoff with jitter, server-provided
//! delays (RetryInfo, `Retry-After`) honoured, and a maximum elapsed time per batch.

use std::time::Duration;

/// How retryable failures are retried.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Delay before the first retry.
    pub initial_backoff: Duration,
    /// Upper bound of one backoff delay.
    pub max_backoff: Duration,
    /// Factor applied to the delay after each retry.
    pub multiplier: f64,
    /// Random fraction (0..1) by which each delay is shortened or lengthened.
    pub jitter: f64,
    /// Time after which a batch still failing is given up and counted as failed.
    pub max_elapsed: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            initial_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(5),
            multiplier: 2.0,
            jitter: 0.2,
            max_elapsed: Duration::from_secs(30),
        }
    }
}
