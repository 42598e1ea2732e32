//! What a connection may hold: at most `max_connections` open per listener, and none kept by a
//! client that sends nothing useful. A connection that has not completed a request's headers
//! within `header_read_timeout` of opening (a slowloris, or a silent socket the HTTP version
//! sniffing would otherwise wait on forever), or has had no request in progress for
//! `idle_timeout`, is shut down. Activity is counted in requests, not bytes, so HTTP/2 pings
//! keep nothing alive.
//!
//! At the limit, a new connection takes the place of the open one that has gone longest
//! without a request in progress (never-used ones first): idle and slow clients cannot lock a
//! well-behaved one out, which waits only while every open connection is busy with a request.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::config::ConnectionLimits;

/// Counters of both listeners' connections.
#[derive(Debug, Default)]
pub struct ConnectionCounters {
    /// Connections open now.
    pub open: AtomicU64,
    /// Idle connections closed to make room for a new one at `max_connections`.
    pub evicted: AtomicU64,
    /// Connections closed for sending no request in time (header-read or idle timeout).
    pub timed_out: AtomicU64,
}

/// The open connections of one listener, to pick one to close at the limit.
#[derive(Debug, Default)]
pub struct Registry {
    next: AtomicU64,
    open: Mutex<HashMap<u64, (Arc<Activity>, CancellationToken)>>,
}

impl Registry {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, (Arc<Activity>, CancellationToken)>> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a connection until the returned guard is dropped; `evict` is cancelled when
    /// the connection must make room.
    pub fn insert(
        self: &Arc<Self>,
        activity: Arc<Activity>,
        evict: CancellationToken,
    ) -> Registered {
        let id = self.next.fetch_add(1, Relaxed);
        self.lock().insert(id, (activity, evict));
        Registered(self.clone(), id)
    }

    /// Asks the connection idle the longest (no request in progress) to close; `false` when
    /// every open connection is busy.
    pub fn evict_one(&self) -> bool {
        let open = self.lock();
        let idlest = open
            .values()
            .filter(|(_, token)| !token.is_cancelled())
            .filter_map(|(a, token)| Some((a.idle_since()?, token)))
            .min_by_key(|(since, _)| *since);
        match idlest {
            Some((_, token)) => {
                token.cancel();
                true
            }
            None => false,
        }
    }
}

/// Removes a connection from its registry when dropped.
#[derive(Debug)]
pub struct Registered(Arc<Registry>, u64);

impl Drop for Registered {
    fn drop(&mut self) {
        self.0.lock().remove(&self.1);
    }
}

/// Requests in progress on one connection and when the last one ended.
#[derive(Debug)]
pub struct Activity {
    opened: Instant,
    active: AtomicU32,
    /// Milliseconds after `opened` that the last request ended; `u64::MAX`: none started yet.
    last_ms: AtomicU64,
}

impl Activity {
    /// A connection opened now.
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            opened: Instant::now(),
            active: AtomicU32::new(0),
            last_ms: AtomicU64::new(u64::MAX),
        })
    }

    /// Marks a request in progress until the guard is dropped.
    pub fn begin(self: &Arc<Self>) -> RequestGuard {
        self.active.fetch_add(1, Relaxed);
        // Started: the header-read deadline no longer applies.
        let _ = self
            .last_ms
            .compare_exchange(u64::MAX, self.now_ms(), Relaxed, Relaxed);
        RequestGuard(self.clone())
    }

    fn now_ms(&self) -> u64 {
        self.opened.elapsed().as_millis() as u64
    }

    /// Since when no request has been in progress (the opening for a connection that never
    /// had one), or `None` while one is.
    pub fn idle_since(&self) -> Option<Instant> {
        if self.active.load(Relaxed) > 0 {
            return None;
        }
        Some(match self.last_ms.load(Relaxed) {
            u64::MAX => self.opened,
            ms => self.opened + Duration::from_millis(ms),
        })
    }

    /// When the connection should be closed if nothing happens, or `None` while a request is
    /// in progress.
    fn deadline(&self, limits: &ConnectionLimits) -> Option<Instant> {
        if self.active.load(Relaxed) > 0 {
            return None;
        }
        Some(match self.last_ms.load(Relaxed) {
            u64::MAX => self.opened + limits.header_read_timeout,
            ms => self.opened + Duration::from_millis(ms) + limits.idle_timeout,
        })
    }

    /// Resolves when the connection has been idle past its deadline.
    pub async fn expired(&self, limits: &ConnectionLimits) {
        // A request in progress is checked again this often.
        let recheck = limits.header_read_timeout.min(Duration::from_secs(1));
        loop {
            match self.deadline(limits) {
                Some(at) if Instant::now() >= at => return,
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => tokio::time::sleep(recheck).await,
            }
        }
    }
}

/// Ends a request's activity when dropped (also when its future is cancelled).
#[derive(Debug)]
pub struct RequestGuard(Arc<Activity>);

impl Drop for RequestGuard {
    fn drop(&mut self) {
        let activity = &self.0;
        activity.last_ms.store(activity.now_ms(), Relaxed);
        activity.active.fetch_sub(1, Relaxed);
    }
}

/// Counts one open connection until dropped.
#[derive(Debug)]
pub struct OpenGuard(Arc<super::state::Shared>);

impl OpenGuard {
    /// Counts a connection as open.
    pub fn new(shared: Arc<super::state::Shared>) -> Self {
        shared.connections.open.fetch_add(1, Relaxed);
        Self(shared)
    }
}

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.connections.open.fetch_sub(1, Relaxed);
    }
}
