//! The ledger: what the sentinel sent and what became of it. It stores sequence numbers, times
//! and outcomes only — never spans; the verifier regenerates spans from the sequence number.

use std::time::{Duration, Instant};

/// How the target answered a sentinel request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// No answer yet.
    Pending,
    /// Accepted.
    Acked,
    /// Refused for good.
    Rejected,
    /// No definitive answer (transport errors, retries exhausted).
    Failed,
}

/// What the verifier found for a trace that must be assembled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// Not looked up yet, or not found yet.
    Waiting,
    /// Found with the expected content, this long after its intended send time.
    Verified(Duration),
    /// Found with other content.
    Incorrect {
        /// Time from intended send to first found.
        after: Duration,
        /// The first difference.
        diff: String,
    },
    /// Not found before the freshness timeout.
    Missing,
}

/// One ambient trace.
#[derive(Debug, Clone)]
pub struct TraceRecord {
    /// Index of the phase it was sent in.
    pub phase: usize,
    /// End time of its root span, unix ns (its intended send time on the wall clock).
    pub end_unix_ns: u64,
    /// Intended send time.
    pub intended: Instant,
    /// Whether the target must assemble it.
    pub must_assemble: bool,
    /// How the target answered all its fragments: pending until every one is answered, then
    /// acked only when every one was.
    pub outcome: Outcome,
    /// Fragments not answered yet.
    pub fragments_pending: u32,
    /// What the verifier found.
    pub found: Found,
    /// The last lookup of it was not answered (an error, not a "not found").
    pub unanswered: bool,
}

/// Alert transitions remembered (the oldest are forgotten first).
const SEEN_LIMIT: usize = 4096;

/// An alert transition the sentinel saw in the target's history, and when it first saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenTransition {
    /// Rule name.
    pub rule: String,
    /// `firing` or `ok`.
    pub state: String,
    /// When the target says it happened, unix ns (its clock).
    pub at_unix_nano: u64,
    /// The first poll of the sentinel that saw it, unix ns (the sentinel's clock).
    pub seen_unix_nano: u64,
}

/// Everything the sentinel sent during a run; the trace with sequence number `n` is
/// `traces[n - first_seq]`. `run` keeps every record (`first_seq` stays 0); `watch` retires
/// decided records from the front so its memory stays flat however long it runs.
#[derive(Debug, Default)]
pub struct Ledger {
    /// Ambient traces by sequence number, from `first_seq` on.
    pub traces: Vec<TraceRecord>,
    /// Sequence number of `traces[0]`: how many records were retired before it.
    pub first_seq: u64,
    /// Error-stream spans sent, by phase.
    pub error_spans: Vec<u64>,
    /// Error-stream spans not acked, by phase.
    pub error_spans_lost: Vec<u64>,
    /// Query API calls that failed (timeouts, errors); the lookup is retried.
    pub query_errors: u64,
    /// The last query error, for the report.
    pub last_query_error: Option<String>,
    /// Alert transitions in the order the sentinel's polls first saw them.
    pub alerts_seen: Vec<SeenTransition>,
    /// Polls of the alert history that failed.
    pub alert_poll_errors: u64,
    /// When each of the latest failed polls of the alert history was made, unix ns (at most
    /// as many as `alerts_seen` keeps), so a phase with failed polls is known.
    pub alert_poll_failed_ns: Vec<u64>,
    /// Longest wait of a sentinel batch in the target's queue seen each second, by phase
    /// (targets that report it: the reference pipeline).
    pub queue_wait_max: Vec<Option<Duration>>,
}

impl TraceRecord {
    /// Records the answer to one fragment: a refusal or failure decides the trace at once; the
    /// last answer of a trace with none decides it acked.
    pub fn answered(&mut self, answer: Outcome) {
        self.fragments_pending = self.fragments_pending.saturating_sub(1);
        let worse = match (self.outcome, answer) {
            (Outcome::Failed, _) | (_, Outcome::Pending) => None,
            (_, Outcome::Failed) => Some(Outcome::Failed),
            (Outcome::Rejected, _) => None,
            (_, Outcome::Rejected) => Some(Outcome::Rejected),
            _ => None,
        };
        if let Some(o) = worse {
            self.outcome = o;
        } else if self.fragments_pending == 0 && self.outcome == Outcome::Pending {
            self.outcome = Outcome::Acked;
        }
    }
}

impl Ledger {
    /// A ledger for `phases` phases.
    pub fn new(phases: usize) -> Self {
        Self {
            error_spans: vec![0; phases],
            error_spans_lost: vec![0; phases],
            queue_wait_max: vec![None; phases],
            ..Self::default()
        }
    }

    /// The sequence number the next pushed trace gets.
    pub fn next_seq(&self) -> u64 {
        self.first_seq + self.traces.len() as u64
    }

    /// Records an ambient trace about to be sent; returns its sequence number.
    pub fn push(&mut self, record: TraceRecord) -> u64 {
        self.traces.push(record);
        self.first_seq + (self.traces.len() - 1) as u64
    }

    /// The record of trace `seq`, unless it was retired.
    pub fn record(&self, seq: u64) -> Option<&TraceRecord> {
        let i = seq.checked_sub(self.first_seq)?;
        self.traces.get(usize::try_from(i).ok()?)
    }

    /// The record of trace `seq` to update, unless it was retired.
    pub fn record_mut(&mut self, seq: u64) -> Option<&mut TraceRecord> {
        let i = seq.checked_sub(self.first_seq)?;
        self.traces.get_mut(usize::try_from(i).ok()?)
    }

    /// Drops the `n` oldest records (their sequence numbers are not reused).
    pub fn retire_front(&mut self, n: usize) {
        let n = n.min(self.traces.len());
        self.traces.drain(..n);
        self.first_seq += n as u64;
    }

    /// Sequence numbers of traces that must be assembled, are not decided, and were sent at
    /// least `settle` ago.
    pub fn due(&self, now: Instant, settle: Duration) -> Vec<u64> {
        self.traces
            .iter()
            .enumerate()
            .filter(|(_, r)| {
                r.must_assemble && r.found == Found::Waiting && now >= r.intended + settle
            })
            .map(|(i, _)| self.first_seq + i as u64)
            .collect()
    }

    /// Records a poll of the alert history that failed at `now_unix_ns`.
    pub fn alert_poll_failed(&mut self, now_unix_ns: u64) {
        self.alert_poll_errors += 1;
        self.alert_poll_failed_ns.push(now_unix_ns);
        let over = self.alert_poll_failed_ns.len().saturating_sub(SEEN_LIMIT);
        self.alert_poll_failed_ns.drain(..over);
    }

    /// Records the transitions of one poll of the alert history at `now_unix_ns`: the ones not
    /// seen before are seen now.
    pub fn saw_alerts<'a>(
        &mut self,
        history: impl IntoIterator<Item = (&'a str, &'a str, u64)>,
        now_unix_ns: u64,
    ) {
        for (rule, state, at) in history {
            let known = self
                .alerts_seen
                .iter()
                .any(|s| s.at_unix_nano == at && s.rule == rule && s.state == state);
            if !known {
                self.alerts_seen.push(SeenTransition {
                    rule: rule.to_owned(),
                    state: state.to_owned(),
                    at_unix_nano: at,
                    seen_unix_nano: now_unix_ns,
                });
            }
        }
        // Bounded like the target's own history, so `watch` stays flat however long it runs.
        let over = self.alerts_seen.len().saturating_sub(SEEN_LIMIT);
        self.alerts_seen.drain(..over);
    }

    /// True when no trace that must be assembled is still waiting.
    pub fn settled(&self) -> bool {
        !self
            .traces
            .iter()
            .any(|r| r.must_assemble && r.found == Found::Waiting)
    }
}
