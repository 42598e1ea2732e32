//! The retry policy of the OTLP specification: exponential backoff with jitter, server-provided
//! delays (RetryInfo, `Retry-After`) honoured, and a maximum elapsed time per batch.
//!
//! Both exporters reduce one attempt to an [`AttemptOutcome`]; [`deliver`] runs attempts until one
//! decides the batch and turns the result into a [`Delivery`]. Keeping the loop here, apart from
//! the protocols, means gRPC and HTTP share one definition of "retryable" and one accounting of
//! spans.

use std::future::Future;
use std::time::Duration;

use rand::Rng;
use tokio::time::Instant;

use super::Delivery;

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

impl RetryPolicy {
    /// The backoff before retry number `retry` (0-based), without jitter: `initial_backoff *
    /// multiplier^retry`, capped at `max_backoff`.
    pub fn backoff(&self, retry: u32) -> Duration {
        let factor = self.multiplier.max(1.0).powi(retry.min(64) as i32);
        let secs = self.initial_backoff.as_secs_f64() * factor;
        Duration::from_secs_f64(secs.min(self.max_backoff.as_secs_f64()))
    }

    /// [`RetryPolicy::backoff`] shortened or lengthened by a random fraction of up to `jitter`.
    pub fn jittered_backoff(&self, retry: u32) -> Duration {
        let base = self.backoff(retry).as_secs_f64();
        let jitter = self.jitter.clamp(0.0, 1.0);
        if jitter == 0.0 {
            return Duration::from_secs_f64(base);
        }
        // The thread-local RNG is not `Send`: it lives only inside this synchronous function,
        // so the futures that call it stay `Send`.
        let spread = rand::rng().random_range(-jitter..=jitter);
        Duration::from_secs_f64((base * (1.0 + spread)).max(0.0))
    }
}

/// What one attempt to export a batch came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// The target accepted the request; `rejected` spans of it were refused
    /// (`partial_success.rejected_spans`), the rest are acknowledged.
    Accepted {
        /// Spans the target reported as rejected in a partial success.
        rejected: u64,
    },
    /// The target answered with a retryable status (gRPC `UNAVAILABLE`, HTTP 503, ...).
    Retryable {
        /// The delay the server asked for (RetryInfo, `Retry-After`); it replaces the backoff.
        delay: Option<Duration>,
    },
    /// The target answered with a status that must not be retried: the batch is rejected.
    Refused,
    /// No answer: connection refused or reset, timeout. Retried until `max_elapsed`.
    TransportError,
}

/// Runs `attempt` until the batch is decided — accepted, refused, or retried past
/// `policy.max_elapsed` — and accounts for all `spans` in the returned [`Delivery`].
///
/// A retry is given up (the batch counted as failed) as soon as its delay would end after
/// `max_elapsed`, so a batch never takes much longer than `max_elapsed` plus one attempt.
pub async fn deliver<F, Fut>(policy: &RetryPolicy, spans: u64, mut attempt: F) -> Delivery
where
    F: FnMut() -> Fut,
    Fut: Future<Output = AttemptOutcome>,
{
    let start = Instant::now();
    let mut retries = 0u32;
    loop {
        let server_delay = match attempt().await {
            AttemptOutcome::Accepted { rejected } => {
                let rejected = rejected.min(spans);
                return Delivery {
                    acked: spans - rejected,
                    rejected,
                    failed: 0,
                    retries,
                };
            }
            AttemptOutcome::Refused => {
                return Delivery {
                    acked: 0,
                    rejected: spans,
                    failed: 0,
                    retries,
                };
            }
            AttemptOutcome::Retryable { delay } => delay,
            AttemptOutcome::TransportError => None,
        };
        let delay = server_delay.unwrap_or_else(|| policy.jittered_backoff(retries));
        if start.elapsed() + delay > policy.max_elapsed {
            return Delivery {
                acked: 0,
                rejected: 0,
                failed: spans,
                retries,
            };
        }
        tokio::time::sleep(delay).await;
        retries += 1;
    }
}

/// Runs one attempt with a time limit; an attempt that runs out of time is a transport error
/// (the request is dropped, which cancels it).
pub async fn with_timeout<Fut>(timeout: Duration, attempt: Fut) -> AttemptOutcome
where
    Fut: Future<Output = AttemptOutcome>,
{
    tokio::time::timeout(timeout, attempt)
        .await
        .unwrap_or(AttemptOutcome::TransportError)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(35),
            multiplier: 2.0,
            jitter: 0.0,
            max_elapsed: Duration::from_millis(200),
        }
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = policy();
        let got: Vec<_> = (0..4).map(|r| p.backoff(r).as_millis()).collect();
        assert_eq!(got, [10, 20, 35, 35]);
    }

    #[test]
    fn jitter_stays_within_its_fraction() {
        let p = RetryPolicy {
            jitter: 0.5,
            ..policy()
        };
        for _ in 0..1000 {
            let d = p.jittered_backoff(0).as_secs_f64();
            assert!((0.005..=0.015 + 1e-9).contains(&d), "{d}");
        }
    }

    #[tokio::test]
    async fn partial_success_is_not_retried() {
        let mut calls = 0;
        let d = deliver(&policy(), 10, || {
            calls += 1;
            async { AttemptOutcome::Accepted { rejected: 3 } }
        })
        .await;
        assert_eq!(
            d,
            Delivery {
                acked: 7,
                rejected: 3,
                failed: 0,
                retries: 0
            }
        );
        assert_eq!(calls, 1);
    }

    #[tokio::test]
    async fn server_delay_overrides_backoff() {
        let mut calls = 0;
        let start = Instant::now();
        let d = deliver(&policy(), 5, || {
            calls += 1;
            let outcome = if calls < 3 {
                AttemptOutcome::Retryable {
                    delay: Some(Duration::from_millis(70)),
                }
            } else {
                AttemptOutcome::Accepted { rejected: 0 }
            };
            async move { outcome }
        })
        .await;
        assert_eq!(
            d,
            Delivery {
                acked: 5,
                rejected: 0,
                failed: 0,
                retries: 2
            }
        );
        assert!(start.elapsed() >= Duration::from_millis(140));
    }

    #[tokio::test]
    async fn endless_failures_give_up_after_max_elapsed() {
        let start = Instant::now();
        let d = deliver(&policy(), 4, || async { AttemptOutcome::TransportError }).await;
        assert_eq!((d.acked, d.rejected, d.failed), (0, 0, 4));
        // 10 + 20 + 35 + 35 + 35 + 35 = 170; one more 35 would pass 200 (timer slack may
        // cost the last one).
        assert!((5..=6).contains(&d.retries), "{}", d.retries);
        assert!(start.elapsed() <= policy().max_elapsed);
    }

    #[tokio::test]
    async fn a_server_delay_past_max_elapsed_fails_at_once() {
        let start = Instant::now();
        let long = Some(Duration::from_secs(60));
        let d = deliver(&policy(), 4, || async move {
            AttemptOutcome::Retryable { delay: long }
        })
        .await;
        assert_eq!(
            d,
            Delivery {
                acked: 0,
                rejected: 0,
                failed: 4,
                retries: 0
            }
        );
        assert!(start.elapsed() < Duration::from_secs(1));
    }

    #[tokio::test]
    async fn refusal_rejects_everything_at_once() {
        let d = deliver(&policy(), 9, || async { AttemptOutcome::Refused }).await;
        assert_eq!(
            d,
            Delivery {
                acked: 0,
                rejected: 9,
                failed: 0,
                retries: 0
            }
        );
    }
}
