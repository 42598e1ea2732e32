//! Why the target refused spans, when it says: the reference pipeline reports its refusals by
//! reason under `pipeline.refused_spans` of `GET /api/v1/stats` (docs/pipeline-api.md), and
//! the verifier uses them to explain a histogram counted short. It reads that documented answer
//! itself rather than importing the pipeline's types, so the verifier knows the target only by
//! its API; on other backends the answer is simply absent.

use serde::Deserialize;

/// The part of `/api/v1/stats` that says why spans were refused.
#[derive(Debug, Deserialize)]
pub struct RefusedStats {
    /// The pipeline's part of the answer.
    pub pipeline: RefusedPart,
}

/// `pipeline` of `/api/v1/stats`.
#[derive(Debug, Deserialize)]
pub struct RefusedPart {
    /// Refused spans by reason, when the target counts them.
    pub refused_spans: Option<Refusals>,
}

/// Spans refused after decoding, by reason (all tenants).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Refusals {
    /// No tenant header and no tenant attribute on the resource.
    pub no_tenant: u64,
    /// A tenant ID that is not valid.
    pub invalid_tenant: u64,
    /// A new tenant beyond the target's tenant limit.
    pub too_many_tenants: u64,
    /// Invalid trace, span or parent IDs.
    pub invalid_ids: u64,
    /// The tenant's quota was used up.
    pub quota: u64,
    /// The queue had no room.
    pub queue_full: u64,
}

impl Refusals {
    /// `5,044 spans refused by the target: no tenant attribute`, one clause per reason with
    /// spans; `None` when nothing was refused.
    pub fn describe(&self) -> Option<String> {
        let reasons = [
            ("no tenant attribute", self.no_tenant),
            ("invalid tenant ID", self.invalid_tenant),
            ("too many tenants", self.too_many_tenants),
            ("invalid trace or span IDs", self.invalid_ids),
            ("tenant quota used up", self.quota),
            ("queue full", self.queue_full),
        ];
        let parts: Vec<String> = reasons
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(why, n)| format!("{} spans refused by the target: {why}", thousands(*n)))
            .collect();
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}

/// `5044` → `5,044`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_read_from_the_stats_answer_are_described_by_reason() {
        let answer =
            r#"{"pipeline":{"refused_spans":{"no_tenant":5044,"quota":3,"queue_full":0}}}"#;
        let stats: RefusedStats = serde_json::from_str(answer).unwrap();
        let r = stats.pipeline.refused_spans.unwrap();
        assert_eq!(
            r.describe().unwrap(),
            "5,044 spans refused by the target: no tenant attribute; \
             3 spans refused by the target: tenant quota used up"
        );
        assert_eq!(Refusals::default().describe(), None);
    }
}
