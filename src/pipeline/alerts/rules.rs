//! Alert rules as the API receives them (`POST /api/v1/alert-rules`), with their validation.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::window::MAX_WINDOW;

/// An error-rate rule of one tenant: fire when, over `window`, at least `min_spans` spans were
/// received and the ratio of error spans is at or above `threshold`; resolve once the ratio has
/// stayed below it for `clear_after`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertRule {
    /// Unique per tenant; posting a rule with an existing name replaces it.
    pub name: String,
    /// Error ratio (0..=1) at or above which the rule fires.
    pub threshold: f64,
    /// Length of the window the ratio is computed over, in milliseconds (at most 300000).
    pub window_ms: u64,
    /// Spans the window must hold before the rule may fire.
    #[serde(default = "default_min_spans")]
    pub min_spans: u64,
    /// Hysteresis: how long, in milliseconds, the ratio must stay below `threshold` before a
    /// firing rule resolves.
    #[serde(default)]
    pub clear_after_ms: u64,
    /// `http://` URL that receives a POST of every transition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<String>,
}

/// Longest `webhook_url` accepted, in bytes.
pub const MAX_URL_BYTES: usize = 2048;

fn default_min_spans() -> u64 {
    1
}

impl AlertRule {
    /// The window as a duration.
    pub fn window(&self) -> Duration {
        Duration::from_millis(self.window_ms)
    }

    /// The hysteresis as a duration.
    pub fn clear_after(&self) -> Duration {
        Duration::from_millis(self.clear_after_ms)
    }

    /// Checks the rule; the message names the field and what is accepted.
    pub fn validate(&self) -> Result<(), String> {
        if self.name.is_empty() || self.name.len() > 200 {
            return Err("name: must be 1 to 200 bytes".into());
        }
        if !(self.threshold > 0.0 && self.threshold <= 1.0) {
            return Err(format!(
                "threshold: must be in (0, 1], got {}",
                self.threshold
            ));
        }
        if self.window_ms == 0 || self.window() > MAX_WINDOW {
            return Err(format!(
                "window_ms: must be 1..={}, got {}",
                MAX_WINDOW.as_millis(),
                self.window_ms
            ));
        }
        if let Some(url) = &self.webhook_url {
            if url.len() > MAX_URL_BYTES {
                return Err(format!("webhook_url: at most {MAX_URL_BYTES} bytes"));
            }
            let ok = url
                .parse::<http::Uri>()
                .is_ok_and(|u| u.scheme_str() == Some("http") && u.host().is_some());
            if !ok {
                return Err(format!("webhook_url: must be an http:// URL, got {url:?}"));
            }
        }
        Ok(())
    }
}
