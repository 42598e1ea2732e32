//! Following the ledger while it stays short: counts each ambient trace once when it is sent
//! and once when it is decided (found as sent, found different, or missing), then retires
//! decided records from the front of the ledger, so a watch of any length holds only the traces
//! still within their verification horizon.
//!
//! Traces below the assembly threshold must never be assembled. Only this process's are judged:
//! their IDs are kept (until searched for) and every search hit is matched against them, so a
//! trace of an earlier process — or of anyone else — is never "unexpected" here.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use super::windows::Recorder;
use crate::sentinel::ledger::{Found, Outcome};
use crate::sentinel::sender::SentinelCtx;
use crate::verify::backend::Backend;
use crate::verify::poller::search_range;
use crate::verify::traces::hex;

/// Follows one process's ledger.
#[derive(Debug)]
pub struct TraceFollower {
    /// Whether each record still in the ledger was counted as decided (front = `first_seq`).
    counted: VecDeque<bool>,
    /// Sequence numbers below this were counted as sent.
    sent: u64,
    /// Below-threshold traces not searched for yet: hex trace ID → root start, unix ns.
    candidates: HashMap<String, u64>,
    /// Root start (unix ns) from which the next search begins.
    search_from: u64,
}

impl TraceFollower {
    /// A follower for a sentinel whose first trace is sent at `start_unix_ns`.
    pub fn new(ctx: &SentinelCtx) -> Self {
        let threshold = ctx.plan.sentinel.assembly_threshold.as_nanos() as u64;
        Self {
            counted: VecDeque::new(),
            sent: 0,
            candidates: HashMap::new(),
            search_from: ctx.anchor.start_unix_ns.saturating_sub(threshold),
        }
    }

    /// Counts what was sent and decided since the last call; retires the decided front.
    pub fn scan(&mut self, ctx: &SentinelCtx, rec: &mut Recorder) {
        let mut ledger = ctx.ledger();
        let first = ledger.first_seq;
        let next = first + ledger.traces.len() as u64;
        rec.traces_sent(next - self.sent);
        self.sent = next;
        self.counted.resize(ledger.traces.len(), false);
        for (i, r) in ledger.traces.iter().enumerate() {
            if self.counted[i] || r.outcome == Outcome::Pending {
                continue;
            }
            let seq = first + i as u64;
            if r.must_assemble {
                if r.found == Found::Waiting {
                    continue;
                }
                rec.trace_decided(&r.found, r.outcome);
            } else {
                let root_start = r
                    .end_unix_ns
                    .saturating_sub(ctx.ambient.root_duration_ns(seq));
                self.candidates
                    .insert(hex(&ctx.ambient.trace_id(seq)), root_start);
            }
            self.counted[i] = true;
        }
        let done = self.counted.iter().take_while(|c| **c).count();
        ledger.retire_front(done);
        self.counted.drain(..done);
        rec.ledger_traces(ledger.traces.len());
    }

    /// Traces sent but in no column yet: those that had to be assembled and are not decided,
    /// those whose export is not answered, and those below the threshold not yet searched for.
    /// With it, every trace sent is counted exactly once: verified, missing, incorrect, checked
    /// as unassembled, or pending.
    pub fn pending(&self, ctx: &SentinelCtx) -> u64 {
        let ledger = ctx.ledger();
        let uncounted = self.counted.iter().chain(std::iter::repeat(&false));
        let undecided = ledger.traces.iter().zip(uncounted).filter(|(_, c)| !**c);
        undecided.count() as u64 + self.candidates.len() as u64
    }

    /// Below-threshold traces not searched for yet.
    pub fn unsearched(&self) -> usize {
        self.candidates.len()
    }

    /// How long after a root starts a wrong assembly of it is surely visible: the root may
    /// start up to the threshold before it is sent, its export may retry, and the target
    /// waits its settle window.
    pub fn horizon(ctx: &SentinelCtx) -> Duration {
        let s = &ctx.plan.sentinel;
        s.assembly_threshold + s.retry_max_elapsed + s.settle + Duration::from_secs(2)
    }

    /// Searches the target for assembled traces whose root started since the last search and
    /// long enough ago; counts this process's below-threshold traces among them as unexpected.
    pub async fn search(
        &mut self,
        ctx: &SentinelCtx,
        query: &Backend,
        rec: &mut Recorder,
        now_unix_ns: u64,
    ) {
        let until = now_unix_ns.saturating_sub(Self::horizon(ctx).as_nanos() as u64);
        if until <= self.search_from {
            return;
        }
        match search_range(query, self.search_from, until).await {
            Ok(hits) => {
                let unexpected = hits
                    .iter()
                    .filter(|hit| self.candidates.remove(&hit.trace_id).is_some())
                    .count() as u64;
                let before = self.candidates.len();
                self.candidates.retain(|_, start| *start >= until);
                let checked = (before - self.candidates.len()) as u64 + unexpected;
                rec.unassembled_checked(checked, unexpected);
                self.search_from = until;
            }
            Err(e) => {
                let mut ledger = ctx.ledger();
                ledger.query_errors += 1;
                ledger.last_query_error = Some(e.to_string());
            }
        }
    }
}
