//! Where sentinel spans say they come from: the resource each service exports under and the
//! instrumentation scope of every span. Both are pure functions of (tenant, run seed,
//! service), so the verifier regenerates them and compares what the target returns for every
//! span, not only its `service.name`.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::Span;

use crate::encode::plain::{SCOPE_NAME, TENANT_ATTRIBUTE, request_with, string_attr};

/// The resource attribute that names the run (its seed in hex), so the runs that share a
/// backend stay apart in it.
pub const RUN_ATTRIBUTE: &str = "span_sentinel.run";

fn attr(key: &str, value: Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

/// The origin of one run's sentinel spans.
#[derive(Debug, Clone)]
pub struct Origin {
    tenant: String,
    run: String,
}

impl Origin {
    /// The origin of the spans of `tenant` in the run of `seed`.
    pub fn new(tenant: &str, seed: u64) -> Self {
        Self {
            tenant: tenant.into(),
            run: format!("{seed:016x}"),
        }
    }

    /// The resource `service` exports under: its name, the tenant, the run, and attributes of
    /// other kinds than string.
    pub fn resource(&self, service: &str) -> Resource {
        Resource {
            attributes: vec![
                string_attr("service.name", service),
                string_attr(TENANT_ATTRIBUTE, &self.tenant),
                string_attr(RUN_ATTRIBUTE, &self.run),
                string_attr("telemetry.sdk.name", SCOPE_NAME),
                attr("service.replicas", Value::IntValue(3)),
                attr("deployment.canary", Value::BoolValue(true)),
            ],
            dropped_attributes_count: 1,
            ..Default::default()
        }
    }

    /// The instrumentation scope of every sentinel span, with its version and attributes.
    pub fn scope(&self) -> InstrumentationScope {
        InstrumentationScope {
            name: SCOPE_NAME.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            attributes: vec![
                string_attr("scope.role", "sentinel ✓"),
                attr("scope.level", Value::DoubleValue(0.5)),
            ],
            dropped_attributes_count: 2,
        }
    }

    /// A request holding `spans` (each with its service), one resource per service.
    pub fn request<'a>(
        &self,
        spans: impl IntoIterator<Item = (Span, &'a str)>,
    ) -> ExportTraceServiceRequest {
        request_with(spans, |service| self.resource(service), &self.scope())
    }
}
