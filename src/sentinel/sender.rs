//! Sending the sentinel's streams on schedule: the ambient stream one trace per request at a
//! fixed rate (open-loop, so a slow target shows as late traces, not fewer), the error stream in
//! small batches every tick. What was sent and how it was answered goes to the ledger.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio_util::sync::CancellationToken;

use super::ambient::{Ambient, SERVICES, SPANS_PER_TRACE};
use super::errors::{ERROR_SERVICE, ErrorStream};
use super::ledger::{Found, Ledger, Outcome, TraceRecord};
use crate::config::sentinel::SentinelPlan;
use crate::encode::plain::request_from_spans;
use crate::engine::Anchor;
use crate::transport::{Delivery, Exporter};

/// How often the error stream sends a batch.
const ERROR_TICK: Duration = Duration::from_millis(50);

/// Everything the sentinel's tasks share.
pub struct SentinelCtx {
    /// The part of the run the sentinel uses.
    pub plan: Arc<SentinelPlan>,
    /// The ambient stream.
    pub ambient: Ambient,
    /// The error stream.
    pub errors: ErrorStream,
    /// The sentinel's own connection to the target.
    pub exporter: Exporter,
    /// The run's start on both clocks.
    pub anchor: Anchor,
    /// What was sent and found.
    pub ledger: Mutex<Ledger>,
}

fn outcome(d: &Delivery) -> Outcome {
    if d.failed > 0 {
        Outcome::Failed
    } else if d.rejected > 0 {
        Outcome::Rejected
    } else {
        Outcome::Acked
    }
}

impl SentinelCtx {
    /// Locks the ledger (a poisoned lock is still usable: the ledger has no invariants a panic
    /// could break half-way).
    pub fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether `offset` lies in a burst that ends before the run does (bursts are never cut).
    pub fn in_burst(&self, offset: Duration) -> bool {
        let schedule = &self.plan.sentinel.bursts;
        if !schedule.in_burst(offset) {
            return false;
        }
        let since = (offset - schedule.offset).as_nanos() % schedule.period.as_nanos();
        let burst_end = offset - Duration::from_nanos(since as u64) + schedule.burst;
        burst_end <= self.plan.total()
    }

    /// Sends ambient traces until the end of the last phase or `stop`.
    pub async fn send_ambient(self: Arc<Self>, stop: CancellationToken) {
        let period = Duration::from_secs_f64(1.0 / self.plan.sentinel.traces_per_sec);
        let total = self.plan.total();
        for k in 0u32.. {
            let offset = period * k;
            if offset >= total {
                return;
            }
            let intended = self.anchor.instant + offset;
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep_until(intended.into()) => {}
            }
            let phase = self.plan.phase_at(offset);
            let end_unix_ns = self.anchor.unix_ns(intended);
            let seq = self.ledger().push(TraceRecord {
                phase,
                end_unix_ns,
                intended,
                must_assemble: self.ambient.must_assemble(u64::from(k)),
                outcome: Outcome::Pending,
                found: Found::Waiting,
                unanswered: false,
            });
            let spans = self
                .ambient
                .spans(seq, &self.plan.phases[phase].name, end_unix_ns);
            let body = self.exporter.encoding().encode(&request_from_spans(
                &self.plan.sentinel.tenant,
                spans.into_iter().zip(SERVICES),
            ));
            let send = self.exporter.export(
                self.plan.tenant.clone(),
                Bytes::from(body),
                SPANS_PER_TRACE as u64,
            );
            let ctx = self.clone();
            tokio::spawn(async move {
                let delivery = send.await;
                if let Some(r) = ctx.ledger().record_mut(seq) {
                    r.outcome = outcome(&delivery);
                }
            });
        }
    }

    /// Sends the error stream until `stop`; after the last phase it keeps sending (outside any
    /// burst) so the alert can clear.
    pub async fn send_errors(self: Arc<Self>, stop: CancellationToken) {
        let rate = self.plan.sentinel.error_spans_per_sec;
        let mut sent = 0u64;
        let mut tick = tokio::time::interval_at(self.anchor.instant.into(), ERROR_TICK);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                at = tick.tick() => {
                    let offset = at.into_std().saturating_duration_since(self.anchor.instant);
                    let due = (rate * offset.as_secs_f64()) as u64 + 1;
                    let n = due.saturating_sub(sent);
                    if n > 0 {
                        self.send_error_batch(sent, n, offset);
                        sent += n;
                    }
                }
            }
        }
    }

    fn send_error_batch(self: &Arc<Self>, first: u64, n: u64, offset: Duration) {
        let in_burst = self.in_burst(offset);
        let end_unix_ns = self.anchor.unix_ns(self.anchor.instant + offset);
        let spans = (first..first + n)
            .map(|seq| (self.errors.span(seq, end_unix_ns, in_burst), ERROR_SERVICE));
        let body = self
            .exporter
            .encoding()
            .encode(&request_from_spans(&self.plan.sentinel.tenant, spans));
        let phase = self.plan.phase_at(offset);
        self.ledger().error_spans[phase] += n;
        let send = self
            .exporter
            .export(self.plan.tenant.clone(), Bytes::from(body), n);
        let ctx = self.clone();
        tokio::spawn(async move {
            let delivery = send.await;
            ctx.ledger().error_spans_lost[phase] += delivery.rejected + delivery.failed;
        });
    }
}
