//! The series a tenant may hold, shared by every processing worker: each worker keeps its own
//! histograms (no shared cache line on the hot path), so a bound kept per worker would let a
//! tenant hold `workers × series_per_tenant` series. A worker asks here only when a series is new
//! to it, so the lock is taken once per (worker, series), and again for each span refused.

use std::collections::HashSet;
use std::hash::BuildHasherDefault;
use std::sync::Mutex;

use super::{FxHashMap, FxHasher};

type Ops = HashSet<Box<[u8]>, BuildHasherDefault<FxHasher>>;

/// One tenant's series (service → operations) over all workers.
#[derive(Debug, Default)]
struct TenantKeys {
    services: FxHashMap<Box<[u8]>, Ops>,
    series: usize,
}

/// The series each tenant holds over all workers, at most `limit` per tenant.
#[derive(Debug)]
pub struct SeriesBudget {
    limit: usize,
    tenants: Mutex<Vec<TenantKeys>>,
}

impl SeriesBudget {
    /// An empty budget of `limit` series per tenant.
    pub fn new(limit: usize) -> Self {
        Self {
            limit,
            tenants: Mutex::new(Vec::new()),
        }
    }

    /// Whether `tenant` may hold the series (`service`, `operation`): true when some worker
    /// already holds it, or when the tenant has room for one more (which it then holds).
    pub fn admit(&self, tenant: u16, service: &[u8], operation: &[u8]) -> bool {
        let mut tenants = self.tenants.lock().unwrap_or_else(|e| e.into_inner());
        let index = usize::from(tenant);
        if tenants.len() <= index {
            tenants.resize_with(index + 1, TenantKeys::default);
        }
        let keys = &mut tenants[index];
        if keys
            .services
            .get(service)
            .is_some_and(|ops| ops.contains(operation))
        {
            return true;
        }
        if keys.series >= self.limit {
            return false;
        }
        keys.series += 1;
        keys.services
            .entry(service.into())
            .or_default()
            .insert(operation.into());
        true
    }

    /// The series of the fullest tenant.
    pub fn most(&self) -> usize {
        let tenants = self.tenants.lock().unwrap_or_else(|e| e.into_inner());
        tenants.iter().map(|t| t.series).max().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_series_held_by_one_worker_is_admitted_again_and_the_limit_holds_per_tenant() {
        let budget = SeriesBudget::new(2);
        assert!(budget.admit(0, b"a", b"x"));
        assert!(budget.admit(0, b"a", b"x"));
        assert!(budget.admit(0, b"b", b"x"));
        assert!(!budget.admit(0, b"c", b"x"));
        assert!(!budget.admit(0, b"a", b"y"));
        assert!(budget.admit(0, b"b", b"x"));
        assert!(budget.admit(1, b"c", b"x"));
        assert_eq!(budget.most(), 2);
    }
}
