//! Ingest: OTLP/gRPC (`grpc`) and OTLP/HTTP (`http`) front ends over one admission path
//! ([`precheck`] then [`admit`]): resolve the tenant, refuse cheaply when the tenant's quota or
//! queue has no room (before the body is even read), scan the request (`decode`), refuse invalid spans through partial
//! success, and admit the rest to the queue. `body` reads bodies within the size limits.

pub mod body;
pub mod cursor;
pub mod decode;
pub mod grpc;
pub mod http;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Instant;

use bytes::Bytes;

use self::decode::{DecodeError, SpanDefect, scan_request};
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

/// Request counters over all tenants.
#[derive(Debug, Default)]
pub struct IngestCounters {
    /// Requests received on both protocols.
    pub requests: AtomicU64,
    /// Requests refused as invalid (400 / `INVALID_ARGUMENT`, 413, 415, 405).
    pub invalid_requests: AtomicU64,
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

/// The checks that need no body: a valid tenant with room in its quota and queue. Run before
/// the body is read, so a throttled tenant costs almost nothing.
pub fn precheck(shared: &Shared, tenant_header: Option<&[u8]>) -> Result<Arc<Tenant>, IngestError> {
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
    Ok(tenant)
}

/// Admits one decompressed request of a tenant that passed [`precheck`].
pub fn admit(shared: &Shared, tenant: Arc<Tenant>, body: Bytes) -> Result<Accepted, IngestError> {
    let counters = &tenant.counters;
    let mut spans = Vec::new();
    let summary = scan_request(&body, &mut spans)?;
    counters
        .received
        .fetch_add(u64::from(summary.spans), Relaxed);
    counters
        .rejected
        .fetch_add(u64::from(summary.rejected), Relaxed);
    let message = defect_message(summary.first_defect, summary.rejected);
    let n = spans.len() as u32;
    if n == 0 {
        return Ok(Accepted {
            accepted: 0,
            rejected: summary.rejected,
            message,
        });
    }
    let refused = |refusal: Refusal| {
        counters.rejected.fetch_add(u64::from(n), Relaxed);
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
    Ok(Accepted {
        accepted: n,
        rejected: summary.rejected,
        message,
    })
}
