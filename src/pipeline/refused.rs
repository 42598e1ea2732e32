//! Spans the pipeline refused after decoding, by reason, over all tenants: a span without a
//! tenant belongs to no tenant's counters, so these are the pipeline's own. Behind a collector
//! the refusals reach only the collector (through partial success), so these counters are how a
//! run can say *why* spans it sent were not counted (`/api/v1/stats`, `/metrics`).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use serde::{Deserialize, Serialize};

use crate::pipeline::admission::Refusal;
use crate::pipeline::tenants::TenantError;

/// Why spans were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// No tenant: no header and no tenant attribute on the resource.
    NoTenant,
    /// A tenant ID that is not valid.
    InvalidTenant,
    /// A new tenant beyond `max_tenants`.
    TooManyTenants,
    /// Invalid trace, span or parent IDs.
    InvalidIds,
    /// The tenant's quota was used up.
    Quota,
    /// The queue had no room.
    QueueFull,
}

impl From<TenantError> for Reason {
    fn from(e: TenantError) -> Self {
        match e {
            TenantError::Missing => Reason::NoTenant,
            TenantError::TooMany => Reason::TooManyTenants,
            _ => Reason::InvalidTenant,
        }
    }
}

impl From<&Refusal> for Reason {
    fn from(r: &Refusal) -> Self {
        match r {
            Refusal::Quota { .. } => Reason::Quota,
            _ => Reason::QueueFull,
        }
    }
}

/// The counters, one per reason.
#[derive(Debug, Default)]
pub struct RefusedSpans {
    counts: [AtomicU64; 6],
}

impl RefusedSpans {
    /// Counts `n` spans refused for `reason`.
    pub fn add(&self, reason: Reason, n: u32) {
        if n > 0 {
            self.counts[reason as usize].fetch_add(u64::from(n), Relaxed);
        }
    }

    /// The counts now.
    pub fn snapshot(&self) -> RefusedCounts {
        let c = |r: Reason| self.counts[r as usize].load(Relaxed);
        RefusedCounts {
            no_tenant: c(Reason::NoTenant),
            invalid_tenant: c(Reason::InvalidTenant),
            too_many_tenants: c(Reason::TooManyTenants),
            invalid_ids: c(Reason::InvalidIds),
            quota: c(Reason::Quota),
            queue_full: c(Reason::QueueFull),
        }
    }
}

/// Spans refused after decoding, by reason (all tenants).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RefusedCounts {
    /// No tenant header and no tenant attribute on the resource.
    pub no_tenant: u64,
    /// A tenant ID that is not valid.
    pub invalid_tenant: u64,
    /// A new tenant beyond `max_tenants`.
    pub too_many_tenants: u64,
    /// Invalid trace, span or parent IDs.
    pub invalid_ids: u64,
    /// The tenant's quota was used up.
    pub quota: u64,
    /// The queue had no room.
    pub queue_full: u64,
}

impl RefusedCounts {
    /// Every reason with its metric label, description and count.
    pub fn by_reason(&self) -> [(&'static str, &'static str, u64); 6] {
        [
            ("no_tenant", "no tenant attribute", self.no_tenant),
            ("invalid_tenant", "invalid tenant ID", self.invalid_tenant),
            (
                "too_many_tenants",
                "too many tenants",
                self.too_many_tenants,
            ),
            ("invalid_ids", "invalid trace or span IDs", self.invalid_ids),
            ("quota", "tenant quota used up", self.quota),
            ("queue_full", "queue full", self.queue_full),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_counted_and_named_by_reason() {
        let r = RefusedSpans::default();
        r.add(TenantError::Missing.into(), 5044);
        r.add(Reason::Quota, 3);
        let c = r.snapshot();
        assert_eq!((c.no_tenant, c.quota, c.queue_full), (5044, 3, 0));
    }
}
