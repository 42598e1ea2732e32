//! Tenants: validation of the tenant header, and the bounded registry of per-tenant state
//! (counters, quota, assembly threshold).
//!
//! A tenant gets a small dense index (`u16`) when first seen, so that workers key their
//! share-nothing state by an integer instead of a string on the hot path.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use super::alerts::window::ErrorWindow;

/// The index of a tenant that was never registered (registered ones are below `max_tenants`,
/// at most 65535, so this never collides).
pub const UNREGISTERED: u16 = u16::MAX;

/// Longest tenant ID accepted, in bytes (as Mimir and Tempo).
pub const MAX_TENANT_LEN: usize = 150;

/// Why a tenant header is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TenantError {
    /// No header, or an empty one.
    #[error("the tenant header is missing or empty")]
    Missing,
    /// Longer than `MAX_TENANT_LEN`.
    #[error("the tenant ID is longer than {MAX_TENANT_LEN} bytes")]
    TooLong,
    /// `.` or `..`.
    #[error("the tenant ID may not be `.` or `..`")]
    Dots,
    /// A character outside `[A-Za-z0-9]` and `! - _ . * ' ( )`.
    #[error("the tenant ID may only contain A-Z a-z 0-9 and ! - _ . * ' ( )")]
    Character,
    /// The registry already holds `max_tenants` tenants.
    #[error("too many tenants")]
    TooMany,
}

/// Checks a tenant ID against the rules of Mimir/Tempo/Loki.
pub fn validate_tenant(id: &[u8]) -> Result<&str, TenantError> {
    if id.is_empty() {
        return Err(TenantError::Missing);
    }
    if id.len() > MAX_TENANT_LEN {
        return Err(TenantError::TooLong);
    }
    if id == b"." || id == b".." {
        return Err(TenantError::Dots);
    }
    let allowed = |b: &u8| b.is_ascii_alphanumeric() || b"!-_.*'()".contains(b);
    if !id.iter().all(allowed) {
        return Err(TenantError::Character);
    }
    // Every allowed byte is ASCII.
    std::str::from_utf8(id).map_err(|_| TenantError::Character)
}

/// Counters of one tenant, in spans unless named otherwise.
#[derive(Debug, Default)]
pub struct TenantCounters {
    /// Spans in requests that reached admission (valid or not).
    pub received: AtomicU64,
    /// Spans admitted to the queue and acknowledged.
    pub accepted: AtomicU64,
    /// Spans refused: invalid IDs, queue full, quota exceeded.
    pub rejected: AtomicU64,
    /// Spans processed by workers.
    pub processed: AtomicU64,
    /// Spans currently waiting in the admission queue.
    pub queued: AtomicU64,
    /// Requests refused because the queue was full.
    pub queue_full_requests: AtomicU64,
    /// Requests refused because of the tenant's quota.
    pub quota_requests: AtomicU64,
    /// Spans discarded by an injected fault after acknowledgement.
    pub fault_dropped: AtomicU64,
    /// How long the last processed batch waited in the queue, ns (processing lag).
    pub last_queue_wait_ns: AtomicU64,
}

/// Seconds as a duration, saturating (a tiny rate must not overflow).
fn wait(seconds: f64) -> Duration {
    Duration::try_from_secs_f64(seconds).unwrap_or(Duration::MAX)
}

/// A token bucket: `rate` spans per second, burst of one second's worth.
#[derive(Debug)]
pub struct Quota {
    rate: f64,
    state: Mutex<(f64, Instant)>,
}

impl Quota {
    /// A full bucket.
    pub fn new(rate: f64) -> Self {
        Self {
            rate,
            state: Mutex::new((rate, Instant::now())),
        }
    }

    /// Takes `n` tokens, or says how long until they would be there.
    pub fn take(&self, n: u64) -> Result<(), Duration> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let refill = now.duration_since(state.1).as_secs_f64() * self.rate;
        state.0 = (state.0 + refill).min(self.rate.max(n as f64));
        state.1 = now;
        if state.0 >= n as f64 {
            state.0 -= n as f64;
            Ok(())
        } else {
            Err(wait((n as f64 - state.0) / self.rate))
        }
    }

    /// When no token is left, how long until one is (a cheap check before decoding).
    pub fn exhausted(&self) -> Option<Duration> {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let tokens = state.0 + state.1.elapsed().as_secs_f64() * self.rate;
        (tokens < 1.0).then(|| wait((1.0 - tokens) / self.rate))
    }
}

/// Everything the pipeline knows about one tenant.
#[derive(Debug)]
pub struct Tenant {
    /// Dense index, also the key of workers' per-tenant state.
    pub index: u16,
    /// The tenant ID.
    pub name: Arc<str>,
    /// Counters.
    pub counters: TenantCounters,
    /// Root duration (ns) at or above which a trace is assembled; changeable at run time.
    pub assembly_threshold_ns: AtomicU64,
    /// Rate quota, if configured.
    pub quota: Option<Quota>,
    /// Span and error counts over time, for alert rules.
    pub errors: ErrorWindow,
}

/// The bounded registry of tenants.
#[derive(Debug)]
pub struct Tenants {
    by_name: RwLock<HashMap<Arc<str>, Arc<Tenant>>>,
    by_index: RwLock<Vec<Arc<Tenant>>>,
    max: usize,
    default_threshold: Duration,
    thresholds: HashMap<String, Duration>,
    quotas: HashMap<String, f64>,
    /// Requests refused because the registry was full.
    pub refused: AtomicU64,
}

impl Tenants {
    /// An empty registry.
    pub fn new(
        max: usize,
        default_threshold: Duration,
        thresholds: HashMap<String, Duration>,
        quotas: HashMap<String, f64>,
    ) -> Self {
        Self {
            by_name: RwLock::default(),
            by_index: RwLock::default(),
            max,
            default_threshold,
            thresholds,
            quotas,
            refused: AtomicU64::new(0),
        }
    }

    /// The tenant named by a header value, registering it when new.
    pub fn resolve(&self, header: Option<&[u8]>) -> Result<Arc<Tenant>, TenantError> {
        let name = validate_tenant(header.unwrap_or_default())?;
        if let Some(t) = self.get(name) {
            return Ok(t);
        }
        let mut by_name = self.by_name.write().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = by_name.get(name) {
            return Ok(t.clone());
        }
        if by_name.len() >= self.max {
            self.refused.fetch_add(1, Relaxed);
            return Err(TenantError::TooMany);
        }
        let threshold = self.threshold_of(name);
        let name: Arc<str> = name.into();
        let tenant = Arc::new(Tenant {
            index: by_name.len() as u16,
            name: name.clone(),
            counters: TenantCounters::default(),
            assembly_threshold_ns: AtomicU64::new(threshold.as_nanos() as u64),
            quota: self.quotas.get(&*name).map(|rate| Quota::new(*rate)),
            errors: ErrorWindow::default(),
        });
        by_name.insert(name, tenant.clone());
        self.by_index
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(tenant.clone());
        Ok(tenant)
    }

    /// The tenant named by a header value if known, else a fresh unregistered one (no data,
    /// index [`UNREGISTERED`]), for read-only queries.
    pub fn lookup(&self, header: Option<&[u8]>) -> Result<Arc<Tenant>, TenantError> {
        let name = validate_tenant(header.unwrap_or_default())?;
        Ok(self.get(name).unwrap_or_else(|| {
            Arc::new(Tenant {
                index: UNREGISTERED,
                name: name.into(),
                counters: TenantCounters::default(),
                assembly_threshold_ns: AtomicU64::new(self.threshold_of(name).as_nanos() as u64),
                quota: None,
                errors: ErrorWindow::default(),
            })
        }))
    }

    fn threshold_of(&self, name: &str) -> Duration {
        self.thresholds
            .get(name)
            .copied()
            .unwrap_or(self.default_threshold)
    }

    /// A known tenant by name.
    pub fn get(&self, name: &str) -> Option<Arc<Tenant>> {
        self.by_name
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
    }

    /// A known tenant by index.
    pub fn by_index(&self, index: u16) -> Option<Arc<Tenant>> {
        self.by_index
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(usize::from(index))
            .cloned()
    }

    /// All tenants, in registration order.
    pub fn all(&self) -> Vec<Arc<Tenant>> {
        self.by_index
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_rules() {
        assert!(validate_tenant(b"team-a_1.(x)*'!").is_ok());
        assert_eq!(validate_tenant(b""), Err(TenantError::Missing));
        assert_eq!(validate_tenant(b".."), Err(TenantError::Dots));
        assert_eq!(validate_tenant(&[b'a'; 151]), Err(TenantError::TooLong));
        assert!(validate_tenant(&[b'a'; 150]).is_ok());
        for bad in [&b"a/b"[..], b"a b", b"a:b", "é".as_bytes(), b"a\0"] {
            assert_eq!(validate_tenant(bad), Err(TenantError::Character), "{bad:?}");
        }
    }

    #[test]
    fn quota_refills() {
        let q = Quota::new(1000.0);
        assert!(q.take(1000).is_ok());
        let wait = q.take(500).unwrap_err();
        assert!(wait > Duration::from_millis(400) && wait <= Duration::from_millis(500));
    }
}
