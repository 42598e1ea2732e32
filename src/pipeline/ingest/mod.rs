//! Ingest: OTLP/gRPC (`grpc`) and OTLP/HTTP (`http`) front ends over one admission path
//! ([`precheck`] then [`admit`]): resolve the tenant, refuse cheaply when the tenant's quota or
//! queue has no room (before the body is even read), scan the request (`decode`), refuse invalid spans through partial
//! success, and admit the rest to the queue. `body` reads bodies within the size limits.

pub mod body;
mod by_attribute;
pub mod decode;
pub mod grpc;
pub mod http;

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

use bytes::Bytes;

use self::decode::{DecodeError, SpanDefect, SpanRef, scan_request};
use super::admission::QUEUE_FULL_RETRY;
use super::admission::{Batch, Refusal};
use super::state::Shared;
use super::tenants::{Tenant, TenantError};

/// Why a request was refused as a whole.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The tenant header is invalid, or there are too many tenants.
    #[error("{0}")]
    Tenant(#[from] TenantError),
    /// The request is not a valid `ExportTraceServiceRequest`.
    #[error("invalid request: {0}")]
    Decode(#[from] DecodeError),
    /// The body is larger than allowed, on the wire or after decompression.
    #[error("request larger than {limit} bytes")]
    TooLarge {
        /// The limit that was exceeded.
        limit: usize,
    },
    /// The body is not valid gzip, or its framing is wrong.
    #[error("{0}")]
    Malformed(String),
    /// No room in the queue or the quota.
    #[error("{0}")]
    Refused(#[from] Refusal),
}

/// A request that was (at least partly) accepted.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// Spans admitted.
    pub accepted: u32,
    /// Spans refused for invalid IDs.
    pub rejected: u32,
    /// Why, for partial success (empty when nothing was refused).
    pub message: String,
}

/// Counts a request refused as a whole: an invalid one in the pipeline's counters (a refusal
/// for room was already counted against its tenant where it happened).
pub fn count_refusal(shared: &Shared, err: &IngestError) {
    if !matches!(err, IngestError::Refused(_)) {
        shared.ingest.invalid_requests.fetch_add(1, Relaxed);
    }
}

fn defect_message(defect: Option<SpanDefect>, rejected: u32) -> String {
    let why = match defect {
        Some(SpanDefect::TraceId) => "trace_id must be 16 bytes and not all zero",
        Some(SpanDefect::SpanId) => "span_id must be 8 bytes and not all zero",
        Some(SpanDefect::ParentId) => "parent_span_id must be empty or 8 bytes",
        None => return String::new(),
    };
    format!("{rejected} span(s) rejected: {why}")
}

/// Whose a request is, as far as is known before its body is read.
#[derive(Debug)]
pub enum Claim {
    /// The tenant named by the tenant header, which passed the cheap checks.
    Tenant(Arc<Tenant>),
    /// No tenant header, and the pipeline takes tenants from a resource attribute: the body
    /// decides, per resource.
    ByAttribute,
}

/// The checks that need no body: a valid tenant with room in its quota and queue. Run before
/// the body is read, so a throttled tenant costs almost nothing.
pub fn precheck(shared: &Shared, tenant_header: Option<&[u8]>) -> Result<Claim, IngestError> {
    if tenant_header.is_none() && shared.config.tenant_attribute.is_some() {
        return Ok(Claim::ByAttribute);
    }
    let tenant = shared.tenants.resolve(tenant_header)?;
    let counters = &tenant.counters;
    if let Some(retry_after) = tenant.quota.as_ref().and_then(|q| q.exhausted()) {
        counters.quota_requests.fetch_add(1, Relaxed);
        return Err(Refusal::Quota { retry_after }.into());
    }
    if shared.queue.is_full_for(&tenant) {
        counters.queue_full_requests.fetch_add(1, Relaxed);
        return Err(Refusal::QueueFull {
            retry_after: QUEUE_FULL_RETRY,
        }
        .into());
    }
    Ok(Claim::Tenant(tenant))
}

/// Admits one decompressed request that passed [`precheck`].
pub fn admit(shared: &Shared, claim: Claim, body: Bytes) -> Result<Accepted, IngestError> {
    match claim {
        Claim::Tenant(tenant) => admit_tenant(shared, tenant, body),
        Claim::ByAttribute => by_attribute::admit(shared, body),
    }
}

fn admit_tenant(
    shared: &Shared,
    tenant: Arc<Tenant>,
    body: Bytes,
) -> Result<Accepted, IngestError> {
    let mut spans = Vec::new();
    let summary = scan_request(&body, b"", &mut spans)?;
    let counters = &tenant.counters;
    counters
        .received
        .fetch_add(u64::from(summary.spans), Relaxed);
    counters
        .rejected
        .fetch_add(u64::from(summary.rejected), Relaxed);
    let refused = &shared.ingest.refused_spans;
    refused.add(
        crate::pipeline::refused::Reason::InvalidIds,
        summary.rejected,
    );
    let message = defect_message(summary.first_defect, summary.rejected);
    let accepted = enqueue(shared, &tenant, body, spans)?;
    Ok(Accepted {
        accepted,
        rejected: summary.rejected,
        message,
    })
}

/// Puts valid `spans` of `tenant` (pointing into `body`) on the queue if its quota and the
/// queue have room; the spans are counted as accepted, or as rejected with the refusal.
fn enqueue(
    shared: &Shared,
    tenant: &Arc<Tenant>,
    body: Bytes,
    spans: Vec<SpanRef>,
) -> Result<u32, IngestError> {
    let counters = &tenant.counters;
    let n = spans.len() as u32;
    if n == 0 {
        return Ok(0);
    }
    let refused = |refusal: Refusal| {
        counters.rejected.fetch_add(u64::from(n), Relaxed);
        let reason = crate::pipeline::refused::Reason::from(&refusal);
        shared.ingest.refused_spans.add(reason, n);
        IngestError::Refused(refusal)
    };
    if let Some(quota) = &tenant.quota {
        quota.take(u64::from(n)).map_err(|retry_after| {
            counters.quota_requests.fetch_add(1, Relaxed);
            refused(Refusal::Quota { retry_after })
        })?;
    }
    let batch = Batch {
        tenant: tenant.clone(),
        body,
        spans,
        admitted: Instant::now(),
    };
    shared.queue.push(batch).map_err(|refusal| {
        counters.queue_full_requests.fetch_add(1, Relaxed);
        refused(refusal)
    })?;
    counters.accepted.fetch_add(u64::from(n), Relaxed);
    Ok(n)
}
