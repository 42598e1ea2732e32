//! `verify::spanmetrics` against the real pipeline: spans of known durations go through the
//! OpenTelemetry Collector, whose spanmetrics connector aggregates them and whose prometheus
//! exporter Prometheus scrapes. The reader must count every span, every quantile must be judged
//! consistent with the exact one, and the same histogram judged against shifted durations must
//! fail.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http::{HeaderName, HeaderValue};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use span_sentinel::transport::{Exporter, Target, TransportOptions};
use span_sentinel::verify::api::QueryClient;
use span_sentinel::verify::histograms::{BucketedSeries, compare};
use span_sentinel::verify::spanmetrics::{SpanmetricsHistograms, SpanmetricsPlan};

use crate::support::peers::peer_path;

/// The pipeline `scripts/real-pipeline.sh start` started, stopped when dropped.
struct RealPipeline {
    env: HashMap<String, String>,
    _state: tempfile::TempDir,
}

fn script() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/real-pipeline.sh")
}

impl RealPipeline {
    fn start() -> Self {
        for peer in [
            "SPAN_SENTINEL_OTELCOL",
            "SPAN_SENTINEL_JAEGER",
            "SPAN_SENTINEL_PROMETHEUS",
        ] {
            let path = peer_path(peer);
            assert!(
                path.exists(),
                "{peer}={} does not exist: run scripts/setup-peers.sh",
                path.display()
            );
        }
        assert!(script().exists(), "{} is missing", script().display());
        // Its own state directory, so pipelines of tests running at once do not meet.
        let state = tempfile::tempdir().unwrap();
        let out = Command::new("bash")
            .arg(script())
            .arg("start")
            .env("REAL_PIPELINE_DIR", state.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "real-pipeline.sh start failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let env = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.strip_prefix("export ")?.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.trim_matches(['\'', '"']).to_owned()))
            .collect();
        Self { env, _state: state }
    }

    fn var(&self, name: &str) -> &str {
        self.env
            .get(name)
            .unwrap_or_else(|| panic!("real-pipeline.sh printed no {name}: {:?}", self.env))
    }
}

impl Drop for RealPipeline {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(script())
            .arg("stop")
            .envs(&self.env)
            .status();
    }
}

fn string_attr(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.into())),
        }),
        ..Default::default()
    }
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

/// Durations from 1 ms to 1.5 s, log-spread, ns.
fn durations(n: u64) -> Vec<u64> {
    (0..n)
        .map(|i| (1e6 * 1500f64.powf(i as f64 / n as f64)) as u64 + i * 7)
        .collect()
}

/// One request of spans of `tenant`, service `checkout`, named `op`, one per duration.
fn request(tenant: &str, op: &str, values: &[u64], seed: u64) -> ExportTraceServiceRequest {
    let end = now_ns();
    let spans = values
        .iter()
        .enumerate()
        .map(|(i, d)| Span {
            trace_id: (u128::from(seed) << 64 | i as u128).to_be_bytes().to_vec(),
            span_id: (i as u64 + 1).to_be_bytes().to_vec(),
            name: op.into(),
            kind: 2,
            start_time_unix_nano: end - d,
            end_time_unix_nano: end,
            attributes: vec![string_attr("tenant.id", tenant)],
            ..Default::default()
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![
                    string_attr("service.name", "checkout"),
                    string_attr("tenant.id", tenant),
                ],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// Reads until every op counts what was sent, or 30 s pass (then the last read).
async fn read_settled(
    reader: &SpanmetricsHistograms,
    start: u64,
    want: &[(&str, usize)],
) -> Vec<BucketedSeries> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let series = reader.histograms(start..now_ns()).await.unwrap();
        let settled = want.iter().all(|(op, n)| {
            series
                .iter()
                .any(|s| s.series.operation == *op && s.series.count == *n as u64)
        });
        if settled || Instant::now() > deadline {
            return series;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[test]
fn spanmetrics_through_prometheus_count_every_span_and_judge_a_shift() {
    let pipeline = RealPipeline::start();
    let target: Target = pipeline.var("SPAN_SENTINEL_TARGET").parse().unwrap();
    let metrics = pipeline
        .var("SPAN_SENTINEL_METRICS")
        .replacen("prometheus://", "http://", 1);
    let tenant = format!("spanmetrics-{}", now_ns());
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let start = now_ns() - 1_000_000_000;
        let exporter = Exporter::connect(&target, &TransportOptions::default())
            .await
            .unwrap();
        let (a, b) = (durations(300), durations(120));
        let header = HeaderValue::from_str(&tenant).unwrap();
        for (seed, op, values) in [(1, "smoke/a", &a), (2, "smoke/b", &b)] {
            let body = request(&tenant, op, values, seed).encode_to_vec();
            let d = exporter
                .export(header.clone(), body.into(), values.len() as u64)
                .await;
            assert_eq!(d.acked, values.len() as u64, "{d:?}");
        }
        let client = QueryClient::new(&metrics, HeaderName::from_static("x-scope-orgid"), header);
        let reader =
            SpanmetricsHistograms::new(client, SpanmetricsPlan::connector_defaults(&tenant));
        let series = read_settled(
            &reader,
            start,
            &[("smoke/a", a.len()), ("smoke/b", b.len())],
        )
        .await;
        let expected = |shift: u64| {
            BTreeMap::from([
                (
                    ("checkout".to_string(), "smoke/a".to_string()),
                    a.iter().map(|d| d * shift / 2).collect(),
                ),
                (
                    ("checkout".to_string(), "smoke/b".to_string()),
                    b.iter().map(|d| d * shift / 2).collect::<Vec<u64>>(),
                ),
            ])
        };
        let same = compare(expected(2), &series);
        assert_eq!(same.problem, None, "{:#?}", same.rows);
        assert_eq!(same.rows.len(), 10);
        assert_eq!(same.max_rel_error, Some(0.0));
        assert!(same.resolution.is_some());
        let shifted = compare(expected(3), &series);
        let problem = shifted
            .problem
            .expect("durations shifted by half must fail");
        assert!(problem.contains("outside the bucket"), "{problem}");
    });
}
