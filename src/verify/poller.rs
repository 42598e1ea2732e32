//! Looking up every trace that must be assembled, from its settle time until it is found (then
//! compared with the regenerated expectation) or its freshness timeout passes (then missing);
//! and searching every assembled trace of a time range, which `run`'s evidence and `watch`'s
//! trace follower both use.

use std::sync::Arc;
use std::time::Instant;

use futures_util::stream::{self, StreamExt};
use tokio_util::sync::CancellationToken;

use super::api::{QueryError, TraceSummary};
use super::backend::Backend;
use super::traces::{first_difference, hex};
use crate::sentinel::ledger::Found;
use crate::sentinel::sender::SentinelCtx;

/// Lookups in flight at once.
const CONCURRENT_LOOKUPS: usize = 8;

/// Verifies due traces, and watches the target's alert history, every poll interval until
/// `stop`.
pub async fn poll(ctx: Arc<SentinelCtx>, query: Backend, stop: CancellationToken) {
    let interval = ctx.plan.sentinel.poll_interval;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(interval) => {
                tokio::join!(verify_due(&ctx, &query), watch_alerts(&ctx, &query));
            }
        }
    }
}

/// One poll of the alert history: alert delays are taken from when the sentinel first saw a
/// transition, not from the time the target stamped on it.
pub async fn watch_alerts(ctx: &SentinelCtx, query: &Backend) {
    let answer = query.alert_history().await;
    let now = ctx.anchor.unix_ns(Instant::now());
    let mut ledger = ctx.ledger();
    match answer {
        Ok(history) => ledger.saw_alerts(
            history
                .iter()
                .map(|t| (t.rule.as_str(), t.state.as_str(), t.at_unix_nano)),
            now,
        ),
        // A backend without alerts is judged `unsupported` at the end, not counted as failing.
        Err(QueryError::Unsupported { .. }) => {}
        Err(_) => ledger.alert_poll_failed(now),
    }
}

/// Looks up every trace that is due once.
pub async fn verify_due(ctx: &SentinelCtx, query: &Backend) {
    let due = ctx.ledger().due(Instant::now(), ctx.plan.sentinel.settle);
    stream::iter(due)
        .for_each_concurrent(CONCURRENT_LOOKUPS, |seq| look_up(ctx, query, seq))
        .await;
}

async fn look_up(ctx: &SentinelCtx, query: &Backend, seq: u64) {
    let Some((phase, end_unix_ns, intended)) = ctx
        .ledger()
        .record(seq)
        .map(|r| (r.phase, r.end_unix_ns, r.intended))
    else {
        return;
    };
    let answer = query.trace(&hex(&ctx.ambient.trace_id(seq))).await;
    let now = Instant::now();
    let unanswered = answer.is_err();
    let found = match answer {
        Ok(Some(trace)) => {
            let expected = ctx
                .ambient
                .spans(seq, &ctx.plan.phases[phase].name, end_unix_ns);
            let after = now - intended;
            match first_difference(&expected, &ctx.plan.origin, &trace, query.content()) {
                None => Found::Verified(after),
                Some(diff) => Found::Incorrect { after, diff },
            }
        }
        Ok(None) | Err(_) if now >= intended + ctx.plan.sentinel.freshness_timeout => {
            Found::Missing
        }
        Ok(None) => Found::Waiting,
        Err(e) => {
            let mut ledger = ctx.ledger();
            ledger.query_errors += 1;
            ledger.last_query_error = Some(format!("{} answered no lookup: {e}", query.name()));
            Found::Waiting
        }
    };
    if let Some(r) = ctx.ledger().record_mut(seq) {
        r.found = found;
        r.unanswered = unanswered;
    }
}

/// Every assembled trace whose root started in `[start, end)` (unix ns), searched in slices so
/// no answer hits the search limit.
pub async fn search_range(
    query: &Backend,
    start: u64,
    end: u64,
) -> Result<Vec<TraceSummary>, QueryError> {
    const LIMIT: usize = 10_000;
    let mut slices = vec![(start, end)];
    let mut out = Vec::new();
    while let Some((a, b)) = slices.pop() {
        let found = query.search(a, b, LIMIT).await?;
        if found.len() >= LIMIT && b - a > 1 {
            let mid = a + (b - a) / 2;
            slices.push((a, mid));
            slices.push((mid, b));
        } else {
            out.extend(found);
        }
    }
    Ok(out)
}
