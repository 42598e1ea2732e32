//! Sending a distribution's values to the target: each value one single-span trace of the
//! sentinel tenant, under the distribution's own operation name, in batches over one exporter.
//! The benchmark and the Prometheus read-back send the same way.

use bytes::Bytes;
use futures_util::future::join_all;
use opentelemetry_proto::tonic::trace::v1::{Span, Status, span::SpanKind};
use prost::Message;

use super::suite::Distribution;
use crate::config::fidelity::FidelitySection;
use crate::config::run::RunPlan;
use crate::encode::plain::request_from_spans;
use crate::engine::Anchor;
use crate::model::ids;
use crate::transport::Exporter;

/// The operation name of distribution `d`'s spans in a run with `seed`.
pub(super) fn operation(seed: u64, d: Distribution) -> String {
    format!("fidelity/{seed:016x}/{}", d.name())
}

/// Sends `values` as single-span traces in batches; returns the accepted values and how many
/// spans were not accepted.
pub(super) async fn send(
    plan: &RunPlan,
    section: &FidelitySection,
    exporter: &Exporter,
    stream: u64,
    d: Distribution,
    values: &[u64],
) -> (Vec<u64>, u64) {
    let end = Anchor::now().start_unix_ns;
    let name = operation(plan.seed, d);
    let key = ids::trace_key(plan.seed ^ 0xF1DE_1175, stream);
    let batches = values
        .chunks(section.batch.max(1))
        .enumerate()
        .map(|(b, chunk)| {
            let spans = chunk.iter().enumerate().map(|(j, &ns)| {
                let seq = (b * section.batch.max(1) + j) as u64;
                let tk = ids::trace_key(key, seq);
                let span = Span {
                    trace_id: ids::trace_id(tk).to_vec(),
                    span_id: ids::span_id(ids::span_hash(tk, 0)).to_vec(),
                    name: name.clone(),
                    kind: SpanKind::Server as i32,
                    start_time_unix_nano: end - ns,
                    end_time_unix_nano: end,
                    status: Some(Status {
                        message: String::new(),
                        code: 1,
                    }),
                    ..Default::default()
                };
                (span, section.service.as_str())
            });
            let tenant = plan.tenant.to_str().unwrap_or_default();
            let body = request_from_spans(tenant, spans).encode_to_vec();
            let delivery =
                exporter.export(plan.tenant.clone(), Bytes::from(body), chunk.len() as u64);
            async move { (chunk, delivery.await) }
        });
    let mut acked = Vec::with_capacity(values.len());
    let mut lost = 0;
    for (chunk, delivery) in join_all(batches).await {
        if delivery.acked == chunk.len() as u64 {
            acked.extend_from_slice(chunk);
        } else {
            lost += chunk.len() as u64;
        }
    }
    (acked, lost)
}
