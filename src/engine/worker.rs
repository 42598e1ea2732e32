//! One load worker: a thread with its own tokio runtime, pacer, templates, exporter and
//! statistics. Nothing is shared with other workers; results leave once per second as a whole
//! `Interval` over a channel.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use crossbeam::channel::Sender;
use futures_util::stream::{FuturesUnordered, StreamExt};
use http::HeaderValue;

use super::pacer::Pacer;
use super::schedule::{Batch, Schedule, StreamBatch};
use super::stats::{Interval, record_us};
use super::{Anchor, LoadPlan, WorkerMsg};
use crate::encode::{Encoding, JsonTemplate, SeqRange, Template};
use crate::model::StreamModel;
use crate::transport::{Delivery, Exporter};

/// How often a worker hands its interval to the collector.
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// How long after the load's end a worker waits for answers to exports in flight.
pub const DRAIN_GRACE: Duration = Duration::from_secs(2);

/// Below this, a worker with nothing in flight sleeps on its thread rather than on tokio's
/// millisecond timer.
const PRECISE_SLEEP: Duration = Duration::from_millis(2);

/// A stream as one worker sends it.
struct Lane<'a> {
    model: &'a StreamModel,
    template: Template,
    /// The OTLP/JSON template, made on the first batch sent as JSON.
    json: Option<JsonTemplate>,
    tenant: HeaderValue,
}

/// A finished export: stream index, outcome, intended send time.
type Done = (usize, Delivery, Instant);

/// The state of one worker thread.
pub struct Worker<'a> {
    index: usize,
    plan: &'a LoadPlan,
    anchor: Anchor,
    stop: Arc<AtomicBool>,
    tx: Sender<WorkerMsg>,
    lanes: Vec<Lane<'a>>,
    interval: Interval,
    /// The next boundary of the one-second grid from the anchor, at which the interval is
    /// handed over.
    next_flush: Instant,
    /// The second of the grid the current interval belongs to (1: the first second).
    second: u64,
    /// Spans per stream handed to the exporter and not yet answered.
    unanswered: Vec<u64>,
}

impl<'a> Worker<'a> {
    /// Prepares worker `index`: one template per stream, encoded once.
    pub fn new(
        index: usize,
        plan: &'a LoadPlan,
        anchor: Anchor,
        stop: Arc<AtomicBool>,
        tx: Sender<WorkerMsg>,
    ) -> Self {
        let lanes = plan
            .streams
            .iter()
            .map(|model| {
                let traces = (plan.batch_spans / model.spans_per_trace()).max(1);
                Lane {
                    model,
                    template: Template::new(model, traces)
                        .expect("templates of validated streams scan"),
                    json: None,
                    tenant: HeaderValue::from_str(&model.spec.tenant)
                        .expect("tenants are validated"),
                }
            })
            .collect();
        Self {
            index,
            plan,
            anchor,
            stop,
            tx,
            lanes,
            interval: Interval::new(plan.streams.len()),
            next_flush: anchor.instant + FLUSH_EVERY,
            second: 1,
            unanswered: vec![0; plan.streams.len()],
        }
    }

    /// Runs the worker to the end of the plan on a current-thread runtime.
    pub fn run(mut self) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let result = runtime.block_on(async {
            let exporter = Exporter::connect(&self.plan.target, &self.plan.transport).await?;
            Ok(self.send_until_done(&exporter).await)
        });
        self.flush();
        let (result, sending) = match result {
            Ok(sending) => (Ok(()), sending),
            Err(e) => (Err(e), Duration::ZERO),
        };
        let _ = self.tx.send(WorkerMsg::Done {
            worker: self.index,
            result,
            sending,
        });
    }

    fn flush(&mut self) {
        let fresh = Interval::new(self.lanes.len());
        let interval = std::mem::replace(&mut self.interval, fresh);
        let _ = self.tx.send(WorkerMsg::Interval {
            worker: self.index,
            second: self.second,
            interval,
        });
    }

    /// This worker's walk through the global batch sequence: its part of the process's
    /// segment.
    fn schedule(&self) -> Schedule {
        let streams = self.lanes.iter().map(|l| StreamBatch {
            traces: l.template.traces(),
            spans: l.template.spans(),
            weight: l.model.spec.weight,
        });
        let owner = self
            .plan
            .segment
            .segment
            .part(self.index, self.plan.threads);
        Schedule::new(streams, owner)
    }

    async fn send_until_done(&mut self, exporter: &Exporter) -> Duration {
        let mut pacer = Pacer::new(self.plan.rate.clone(), self.plan.duration);
        let mut schedule = self.schedule();
        let end = self.anchor.instant + self.plan.duration;
        let mut inflight = FuturesUnordered::new();
        while !self.stopped() {
            let batch = schedule.next_batch();
            let Some(offset) = pacer.due(batch.spans_before) else {
                break;
            };
            let intended = if pacer.is_max() {
                Instant::now()
            } else {
                self.anchor.instant + offset
            };
            // Stop at the end on the wall clock too: a worker that fell behind must not keep
            // sending its backlog past the end, or a rate it never reached would be reported.
            if intended >= end || Instant::now() >= end {
                break;
            }
            self.wait_until(intended, &mut inflight).await;
            if inflight.len() >= self.plan.transport.concurrency
                && !self.wait_for_room(&mut inflight, end).await
            {
                break;
            }
            let now = Instant::now();
            if now >= end {
                break;
            }
            self.flush_if_due(now);
            record_us(
                &mut self.interval.lag_us,
                now.saturating_duration_since(intended),
            );
            if let Some(fut) = self.send(batch, intended, exporter) {
                inflight.push(fut);
            }
        }
        // The run lasts its duration even when the last batch was scheduled earlier (a low
        // rate), so rates are over the duration asked for and every second is reported.
        if !self.stopped() {
            self.wait_until(end, &mut inflight).await;
        }
        let sending = self.anchor.instant.elapsed().min(self.plan.duration);
        self.drain(inflight, end).await;
        sending
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Hands the interval over when a second of the grid has passed, tagged with that second.
    fn flush_if_due(&mut self, now: Instant) {
        if now >= self.next_flush {
            self.flush();
            while self.next_flush <= now {
                self.next_flush += FLUSH_EVERY;
                self.second += 1;
            }
        }
    }

    /// Waits until fewer than `concurrency` exports are in flight, flushing on the grid
    /// meanwhile; `false` when the load's end came first (a stalled target must not hold the
    /// load past its end).
    async fn wait_for_room<F: Future<Output = Done>>(
        &mut self,
        inflight: &mut FuturesUnordered<F>,
        end: Instant,
    ) -> bool {
        let waiting = Instant::now();
        let mut room = true;
        while inflight.len() >= self.plan.transport.concurrency {
            tokio::select! {
                _ = tokio::time::sleep_until(self.next_flush.into()) => {
                    self.flush_if_due(Instant::now());
                }
                Some(done) = inflight.next() => self.record(done),
                _ = tokio::time::sleep_until(end.into()) => {
                    room = false;
                    break;
                }
            }
        }
        self.interval.waiting_for_acks += waiting.elapsed();
        room
    }

    /// Records the exports still in flight as they finish (flushing on the grid meanwhile), for
    /// at most [`DRAIN_GRACE`] (or the attempt timeout, if shorter) after the end; spans
    /// unanswered by then are `failed` and their requests are dropped, so a target that accepts
    /// and never answers ends the load on time instead of after every retry's timeout.
    async fn drain<F: Future<Output = Done>>(
        &mut self,
        mut inflight: FuturesUnordered<F>,
        end: Instant,
    ) {
        let deadline = end + DRAIN_GRACE.min(self.plan.transport.timeout);
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(self.next_flush.into()) => {
                    self.flush_if_due(Instant::now());
                }
                done = inflight.next() => match done {
                    Some(done) => self.record(done),
                    None => return,
                },
                _ = tokio::time::sleep_until(deadline.into()) => break,
            }
        }
        drop(inflight);
        for (lane, spans) in self.unanswered.iter_mut().enumerate() {
            self.interval.streams[lane].failed += std::mem::take(spans);
        }
    }

    /// Patches and hands over one batch; returns the export future for network targets.
    fn send(
        &mut self,
        batch: Batch,
        intended: Instant,
        exporter: &Exporter,
    ) -> Option<impl Future<Output = Done> + use<>> {
        let lane = batch.stream;
        let start_ns = self.anchor.unix_ns(intended);
        let l = &mut self.lanes[lane];
        let seqs = SeqRange {
            first: batch.first_seq,
            stride: 1,
        };
        let spans = l.template.spans() as u64;
        let bytes: &[u8] = match exporter.encoding() {
            Encoding::Protobuf => l.template.patch(l.model, seqs, start_ns),
            Encoding::Json => {
                let (model, traces) = (l.model, l.template.traces());
                l.json
                    .get_or_insert_with(|| {
                        JsonTemplate::new(model, traces)
                            .expect("JSON templates of validated streams scan")
                    })
                    .patch(model, seqs, start_ns)
            }
        };
        let counts = &mut self.interval.streams[lane];
        counts.sent += spans;
        counts.batches += 1;
        counts.bytes += bytes.len() as u64;
        if exporter.is_discard() {
            if let Some(compression) = exporter.discard_compression() {
                std::hint::black_box(crate::transport::compress::compress(compression, bytes));
            }
            std::hint::black_box(bytes);
            counts.acked += spans;
            return None;
        }
        self.unanswered[lane] += spans;
        let body = Bytes::copy_from_slice(bytes);
        let fut = exporter.export(l.tenant.clone(), body, spans);
        Some(async move { (lane, fut.await, intended) })
    }

    fn record(&mut self, (lane, delivery, intended): Done) {
        self.unanswered[lane] -= delivery.acked + delivery.rejected + delivery.failed;
        self.interval.streams[lane].add_delivery(&delivery);
        record_us(&mut self.interval.latency_us, intended.elapsed());
    }

    /// Sleeps until `intended`, recording exports that finish meanwhile and flushing on the
    /// one-second grid (so every second is reported on time, however low the rate).
    ///
    /// tokio's timer has millisecond granularity, which would add up to a millisecond of lag to
    /// every batch. With nothing in flight the last stretch is slept on the thread instead
    /// (sub-millisecond); with exports in flight the runtime must keep running, so the timer is
    /// used and its granularity shows in the lag, honestly.
    async fn wait_until<F: Future<Output = Done>>(
        &mut self,
        intended: Instant,
        inflight: &mut FuturesUnordered<F>,
    ) {
        loop {
            let now = Instant::now();
            self.flush_if_due(now);
            if now >= intended || self.stopped() {
                return;
            }
            let wake = intended.min(self.next_flush);
            let remaining = wake - now;
            if inflight.is_empty() {
                if remaining <= PRECISE_SLEEP {
                    std::thread::sleep(remaining);
                    continue;
                }
                // At most 100 ms at a time, so a stop is noticed.
                let until = (wake - PRECISE_SLEEP).min(now + Duration::from_millis(100));
                tokio::time::sleep_until(until.into()).await;
                continue;
            }
            tokio::select! {
                _ = tokio::time::sleep_until(wake.min(now + Duration::from_millis(100)).into()) => {}
                Some(done) = inflight.next() => self.record(done),
            }
        }
    }
}
