//! Tenants from a resource attribute: a collector in the path (rotel, an OpenTelemetry
//! Collector without `include_metadata`) forwards no request headers and batches several
//! tenants' spans into one request. When the pipeline is told which resource attribute names
//! the tenant, such a request is split by that attribute and each part is admitted as its
//! tenant's own, so tenants stay apart even behind a shared collector.
//!
//! Parts refused (an invalid or missing tenant, a full quota or queue) are reported through
//! partial success; only when nothing at all was accepted is the request refused as a whole,
//! so that a client retries it. Spans refused for invalid IDs cannot be told apart by tenant
//! and count only in the response.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use bytes::Bytes;

use super::decode::{Range, SpanRef, scan_request};
use super::{Accepted, IngestError, defect_message, enqueue};
use crate::pipeline::admission::Refusal;
use crate::pipeline::refused::Reason;
use crate::pipeline::state::Shared;
use crate::pipeline::tenants::Tenant;

/// Admits a header-less request, split by the tenant attribute of each resource.
pub fn admit(shared: &Shared, body: Bytes) -> Result<Accepted, IngestError> {
    let key = shared
        .config
        .tenant_attribute
        .as_deref()
        .unwrap_or_default();
    let mut spans = Vec::new();
    let summary = scan_request(&body, key.as_bytes(), &mut spans)?;
    let refused = &shared.ingest.refused_spans;
    refused.add(Reason::InvalidIds, summary.rejected);
    let mut out = Accepted {
        accepted: 0,
        rejected: summary.rejected,
        message: defect_message(summary.first_defect, summary.rejected),
    };
    let mut refusal: Option<Refusal> = None;
    for (name, part) in by_tenant(&body, spans) {
        let n = part.len() as u32;
        let name = name.slice(&body);
        let tenant: Arc<Tenant> = match shared.tenants.resolve(Some(name)) {
            Ok(tenant) => tenant,
            Err(e) => {
                refused.add(e.into(), n);
                out.rejected += n;
                note(
                    &mut out.message,
                    format!("{n} span(s) rejected: {key}: {e}"),
                );
                continue;
            }
        };
        tenant.counters.received.fetch_add(u64::from(n), Relaxed);
        match enqueue(shared, &tenant, body.clone(), part) {
            Ok(n) => out.accepted += n,
            Err(IngestError::Refused(r)) => {
                out.rejected += n;
                note(
                    &mut out.message,
                    format!("{n} span(s) of tenant {} refused: {r}", tenant.name),
                );
                refusal.get_or_insert(r);
            }
            Err(e) => return Err(e),
        }
    }
    match refusal {
        Some(r) if out.accepted == 0 => Err(r.into()),
        _ => Ok(out),
    }
}

/// Longest partial-success message, in bytes: a request of many refused tenants would
/// otherwise be answered with a message as long as itself.
const MAX_MESSAGE: usize = 1024;

fn note(message: &mut String, what: String) {
    if message.len() >= MAX_MESSAGE {
        if !message.ends_with('…') {
            message.push_str("; …");
        }
        return;
    }
    if !message.is_empty() {
        message.push_str("; ");
    }
    message.push_str(&what);
}

/// The spans grouped by the bytes of their tenant attribute, in order of first appearance;
/// one group without copying when the request holds a single tenant, as it mostly does. A hash
/// of the tenant bytes finds each span's group, so a request of many tenants costs one lookup
/// per span, not one comparison per span and tenant (a scan of the groups was quadratic).
fn by_tenant(body: &[u8], spans: Vec<SpanRef>) -> Vec<(Range, Vec<SpanRef>)> {
    let Some(first) = spans.first().map(|s| s.tenant) else {
        return Vec::new();
    };
    let name = first.slice(body);
    if spans.iter().all(|s| s.tenant.slice(body) == name) {
        return vec![(first, spans)];
    }
    // SipHash with a random key: the tenant bytes come from the client.
    let mut index: HashMap<&[u8], usize> = HashMap::new();
    let mut groups: Vec<(Range, Vec<SpanRef>)> = Vec::new();
    for span in spans {
        let at = *index.entry(span.tenant.slice(body)).or_insert_with(|| {
            groups.push((span.tenant, Vec::new()));
            groups.len() - 1
        });
        groups[at].1.push(span);
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(tenant: Range) -> SpanRef {
        SpanRef {
            tenant,
            ..SpanRef::default()
        }
    }

    #[test]
    fn groups_keep_order_of_first_appearance() {
        let body = b"abcab";
        let r = |i: u32| Range {
            start: i,
            end: i + 1,
        };
        let spans = [0, 1, 3, 2, 4, 0].map(|i| span(r(i))).to_vec();
        let groups = by_tenant(body, spans);
        let names: Vec<_> = groups
            .iter()
            .map(|(n, g)| (n.slice(body), g.len()))
            .collect();
        assert_eq!(names, [(&b"a"[..], 3), (b"b", 2), (b"c", 1)]);
    }
}
