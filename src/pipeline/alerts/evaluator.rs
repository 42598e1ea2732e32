//! Rule state per tenant and the evaluation step: `ok → firing` when the ratio reaches the
//! threshold with enough spans, `firing → ok` once it has stayed below for the hysteresis. Each
//! transition is recorded (bounded history, evictions counted) and handed back for
//! notification.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use super::rules::AlertRule;
use super::window::ErrorWindow;

/// State of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    /// Not firing.
    Ok,
    /// Firing.
    Firing,
}

/// One state change of a rule; also the webhook payload.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Transition {
    /// Tenant of the rule.
    pub tenant: String,
    /// Rule name.
    pub rule: String,
    /// The state entered.
    pub state: AlertState,
    /// When, unix ns.
    pub at_unix_nano: u64,
    /// Error ratio of the window at that evaluation.
    pub error_ratio: f64,
    /// Spans in the window at that evaluation.
    pub window_spans: u64,
    /// The rule's threshold.
    pub threshold: f64,
}

/// A rule and where it stands, as `GET /api/v1/alerts` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct RuleStatus {
    /// The rule.
    pub rule: AlertRule,
    /// Current state.
    pub state: AlertState,
    /// When the current state was entered, unix ns (0: never changed).
    pub since_unix_nano: u64,
    /// Error ratio at the last evaluation.
    pub error_ratio: f64,
    /// Spans in the window at the last evaluation.
    pub window_spans: u64,
    /// When the ratio went below the threshold, and the clear-delay fault in force then (a
    /// burst that ends while the fault is on clears late even if the fault ends meanwhile).
    #[serde(skip)]
    below_since: Option<(Instant, std::time::Duration)>,
    #[serde(skip)]
    above_since: Option<Instant>,
}

/// Injected evaluation faults (all zero/false when the faults are off).
#[derive(Debug, Clone, Copy, Default)]
pub struct EvalFaults {
    /// A breach must last this long before the rule fires.
    pub fire_delay: std::time::Duration,
    /// Added to the rule's hysteresis before it resolves.
    pub clear_delay: std::time::Duration,
    /// Fire every rule that is `ok` now, breach or not (a stray firing).
    pub force_firing: bool,
}

#[derive(Debug, Default)]
struct TenantAlerts {
    rules: Vec<RuleStatus>,
    history: VecDeque<Transition>,
    evicted: u64,
}

/// Rules and history of all tenants.
#[derive(Debug)]
pub struct AlertRegistry {
    tenants: Mutex<HashMap<u16, TenantAlerts>>,
    history_limit: usize,
    rules_limit: usize,
    /// Rules refused because their tenant already had `rules_per_tenant`.
    pub refused: std::sync::atomic::AtomicU64,
}

/// Unix time now, ns.
pub fn unix_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// `GET /api/v1/alerts` of one tenant.
#[derive(Debug, Clone, Serialize)]
pub struct AlertsView {
    /// Every rule with its state.
    pub rules: Vec<RuleStatus>,
    /// Transitions, oldest first.
    pub history: Vec<Transition>,
    /// Transitions evicted from the bounded history.
    pub evicted_transitions: u64,
}

impl AlertRegistry {
    /// An empty registry.
    pub fn new(history_limit: usize, rules_limit: usize) -> Self {
        Self {
            tenants: Mutex::default(),
            history_limit: history_limit.max(1),
            rules_limit,
            refused: std::sync::atomic::AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u16, TenantAlerts>> {
        self.tenants.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds or replaces a rule (a replaced rule starts over in `ok`).
    pub fn upsert(&self, tenant: u16, rule: AlertRule) -> Result<(), String> {
        let mut tenants = self.lock();
        let alerts = tenants.entry(tenant).or_default();
        alerts.rules.retain(|r| r.rule.name != rule.name);
        if alerts.rules.len() >= self.rules_limit {
            self.refused
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return Err(format!("at most {} rules per tenant", self.rules_limit));
        }
        alerts.rules.push(RuleStatus {
            rule,
            state: AlertState::Ok,
            since_unix_nano: 0,
            error_ratio: 0.0,
            window_spans: 0,
            below_since: None,
            above_since: None,
        });
        Ok(())
    }

    /// The most rules any tenant holds, and the distinct webhook URLs over all rules.
    pub fn usage(&self) -> (usize, usize) {
        let tenants = self.lock();
        let mut urls = std::collections::HashSet::new();
        let mut most = 0;
        for alerts in tenants.values() {
            most = most.max(alerts.rules.len());
            urls.extend(
                alerts
                    .rules
                    .iter()
                    .filter_map(|r| r.rule.webhook_url.as_deref()),
            );
        }
        (most, urls.len())
    }

    /// Deletes a rule; `false` when there was none of that name.
    pub fn delete(&self, tenant: u16, name: &str) -> bool {
        let mut tenants = self.lock();
        let Some(alerts) = tenants.get_mut(&tenant) else {
            return false;
        };
        let before = alerts.rules.len();
        alerts.rules.retain(|r| r.rule.name != name);
        alerts.rules.len() != before
    }

    /// The tenant's rules and history.
    pub fn view(&self, tenant: u16) -> AlertsView {
        let tenants = self.lock();
        let Some(alerts) = tenants.get(&tenant) else {
            return AlertsView {
                rules: Vec::new(),
                history: Vec::new(),
                evicted_transitions: 0,
            };
        };
        AlertsView {
            rules: alerts.rules.clone(),
            history: alerts.history.iter().cloned().collect(),
            evicted_transitions: alerts.evicted,
        }
    }

    /// Evaluates every rule of a tenant against its error window; returns the transitions made,
    /// each with the webhook URL of its rule.
    pub fn evaluate(
        &self,
        tenant: u16,
        name: &str,
        window: &ErrorWindow,
        now: Instant,
        faults: EvalFaults,
    ) -> Vec<(Transition, Option<String>)> {
        let mut tenants = self.lock();
        let Some(alerts) = tenants.get_mut(&tenant) else {
            return Vec::new();
        };
        let mut made = Vec::new();
        for status in &mut alerts.rules {
            let forced = (faults.force_firing && status.state == AlertState::Ok)
                .then_some(AlertState::Firing);
            if let Some(state) = forced.or_else(|| step(status, window, now, faults)) {
                status.state = state;
                status.since_unix_nano = unix_nanos();
                let transition = Transition {
                    tenant: name.to_owned(),
                    rule: status.rule.name.clone(),
                    state,
                    at_unix_nano: status.since_unix_nano,
                    error_ratio: status.error_ratio,
                    window_spans: status.window_spans,
                    threshold: status.rule.threshold,
                };
                made.push((transition, status.rule.webhook_url.clone()));
            }
        }
        for (transition, _) in &made {
            if alerts.history.len() >= self.history_limit {
                alerts.history.pop_front();
                alerts.evicted += 1;
            }
            alerts.history.push_back(transition.clone());
        }
        made
    }
}

/// One evaluation of one rule: the state to enter, if it changes.
fn step(
    status: &mut RuleStatus,
    window: &ErrorWindow,
    now: Instant,
    faults: EvalFaults,
) -> Option<AlertState> {
    let rule = &status.rule;
    let (total, errors) = window.sum(now, rule.window());
    let ratio = if total == 0 {
        0.0
    } else {
        errors as f64 / total as f64
    };
    status.error_ratio = ratio;
    status.window_spans = total;
    let breaching = total >= rule.min_spans.max(1) && ratio >= rule.threshold;
    if !breaching {
        status.above_since = None;
    }
    match status.state {
        AlertState::Ok if breaching => {
            let since = *status.above_since.get_or_insert(now);
            (now.duration_since(since) >= faults.fire_delay).then_some(AlertState::Firing)
        }
        AlertState::Ok => None,
        AlertState::Firing if breaching => {
            status.below_since = None;
            None
        }
        AlertState::Firing => {
            let (since, held) = *status.below_since.get_or_insert((now, faults.clear_delay));
            if now.duration_since(since) >= rule.clear_after() + held {
                status.below_since = None;
                Some(AlertState::Ok)
            } else {
                None
            }
        }
    }
}
