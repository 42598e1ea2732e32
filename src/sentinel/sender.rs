//! Sending the sentinel's streams on schedule: the ambient stream's traces at a fixed rate
//! (open-loop, so a slow target shows as late traces, not fewer), each in fragments sent at
//! their own times over the exporters in turn; the error stream in small batches every tick. What was sent and how it was answered goes to the ledger.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio_util::sync::CancellationToken;

use super::ambient::Ambient;
use super::arrival::{Fragment, root_delay};
use super::errors::{ERROR_SERVICE, ErrorStream};
use super::ledger::{Found, Ledger, Outcome, TraceRecord};
use super::plan::SentinelPlan;
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
    /// The sentinel's own connections to the target: a trace's fragments take them in turn
    /// (one per protocol of `fragment_protocols`, each with several connections).
    pub exporters: Vec<Exporter>,
    /// The run's start on both clocks.
    pub anchor: Anchor,
    /// What was sent and found.
    pub ledger: Mutex<Ledger>,
}

/// One ambient trace being sent.
#[derive(Debug, Clone, Copy)]
struct TraceSend {
    seq: u64,
    phase: usize,
    end_unix_ns: u64,
    begin: std::time::Instant,
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

    /// Sends ambient traces until the end of the last phase or `stop`: trace `k` begins at
    /// `k / traces_per_sec` and its fragments follow on their own schedule (a trace whose root
    /// would go out after the last phase is not sent).
    pub async fn send_ambient(self: Arc<Self>, stop: CancellationToken) {
        let period = Duration::from_secs_f64(1.0 / self.plan.sentinel.traces_per_sec);
        let spread = self.plan.sentinel.fragment_spread;
        let total = self.plan.total();
        for k in 0u32.. {
            let offset = period * k;
            if offset >= total {
                return;
            }
            let begin = self.anchor.instant + offset;
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep_until(begin.into()) => {}
            }
            let seq = self.ledger().next_seq();
            let root_at = root_delay(self.ambient.root_duration_ns(seq), spread);
            if offset + root_at >= total {
                continue;
            }
            let intended = begin + root_at;
            // A trace's span names carry the phase its root is sent in; it is judged in the
            // phase its assembly window closes in (see `run::evidence`).
            let phase = self.plan.phase_at(offset + root_at);
            let fragments = self.ambient.fragments(seq);
            let record = TraceRecord {
                phase,
                end_unix_ns: self.anchor.unix_ns(intended),
                intended,
                must_assemble: self.ambient.must_assemble(seq),
                outcome: Outcome::Pending,
                fragments_pending: fragments.len() as u32,
                found: Found::Waiting,
                unanswered: false,
            };
            let end_unix_ns = record.end_unix_ns;
            self.ledger().push(record);
            let ctx = self.clone();
            let stop = stop.clone();
            tokio::spawn(async move {
                let trace = TraceSend {
                    seq,
                    phase,
                    end_unix_ns,
                    begin,
                };
                ctx.send_fragments(trace, fragments, stop).await;
            });
        }
    }

    /// Sends the fragments of one trace, each at its time, over the exporters in turn.
    async fn send_fragments(
        self: Arc<Self>,
        trace: TraceSend,
        fragments: Vec<Fragment>,
        stop: CancellationToken,
    ) {
        let phase = &self.plan.phases[trace.phase].name;
        for (i, fragment) in fragments.iter().enumerate() {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep_until((trace.begin + fragment.after).into()) => {}
            }
            let spans = fragment
                .nodes
                .iter()
                .map(|&node| self.ambient.span(trace.seq, node, phase, trace.end_unix_ns));
            let exporter = &self.exporters[(trace.seq as usize + i) % self.exporters.len()];
            let body = exporter.encoding().encode(&self.plan.origin.request(spans));
            let send = exporter.export(
                self.plan.tenant.clone(),
                Bytes::from(body),
                fragment.nodes.len() as u64,
            );
            let ctx = self.clone();
            tokio::spawn(async move {
                let delivery = send.await;
                if let Some(r) = ctx.ledger().record_mut(trace.seq) {
                    r.answered(outcome(&delivery));
                }
            });
        }
    }

    /// Sends the error stream until `stop`; after the last phase it keeps sending (outside any
    /// burst) so the alert can clear.
    pub async fn send_errors(self: Arc<Self>, stop: CancellationToken) {
        let rate = self.plan.sentinel.error_spans_per_sec();
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
        let exporter = &self.exporters[(first as usize) % self.exporters.len()];
        let body = exporter.encoding().encode(&self.plan.origin.request(spans));
        let phase = self.plan.phase_at(offset);
        self.ledger().error_spans[phase] += n;
        let send = exporter.export(self.plan.tenant.clone(), Bytes::from(body), n);
        let ctx = self.clone();
        tokio::spawn(async move {
            let delivery = send.await;
            ctx.ledger().error_spans_lost[phase] += delivery.rejected + delivery.failed;
        });
    }
}
