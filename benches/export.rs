//! The generator's export ceiling over loopback, plaintext beside TLS, in one group so the
//! ratio shows in one run: one worker's `GrpcExporter` (two connections, 16 requests in flight)
//! sends the same template-encoded 512-span batch to a sink that reads each request and
//! answers OK without decoding it. The TLS cost is the connection's (handshake once, then
//! record encryption); the batch bytes are identical. Throughput is in spans.
// criterion's group macros generate public functions without documentation.
#![allow(missing_docs)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures_util::StreamExt;
use http::{HeaderMap, HeaderValue, Response};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use rcgen::{CertificateParams, KeyPair};
use span_sentinel::encode::{SeqRange, Template};
use span_sentinel::model::{StreamModel, StreamSpec};
use span_sentinel::transport::{ClientTls, Exporter, Target, TlsOptions, TransportOptions};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

type Frames = futures_util::stream::Iter<std::vec::IntoIter<Result<Frame<Bytes>, Infallible>>>;

/// Reads the request to its end and answers an empty `ExportTraceServiceResponse`, status OK.
async fn sink(req: http::Request<Incoming>) -> Result<Response<StreamBody<Frames>>, Infallible> {
    let _ = req.into_body().collect().await;
    let mut trailers = HeaderMap::new();
    trailers.insert("grpc-status", HeaderValue::from_static("0"));
    let frames = vec![
        Ok(Frame::data(Bytes::from_static(&[0, 0, 0, 0, 0]))),
        Ok(Frame::trailers(trailers)),
    ];
    let mut response = Response::new(StreamBody::new(futures_util::stream::iter(frames)));
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("application/grpc"));
    Ok(response)
}

/// Starts the sink on loopback, TLS when `tls` is given; returns its address.
async fn start_sink(tls: Option<TlsAcceptor>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let _ = stream.set_nodelay(true);
            let tls = tls.clone();
            tokio::spawn(async move {
                let builder = auto::Builder::new(TokioExecutor::new());
                let service = service_fn(sink);
                match tls {
                    Some(acceptor) => {
                        let Ok(stream) = acceptor.accept(stream).await else {
                            return;
                        };
                        let _ = builder
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    }
                    None => {
                        let _ = builder
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    }
                }
            });
        }
    });
    addr
}

/// A self-signed certificate for 127.0.0.1: the server's acceptor and the client's settings.
fn certificates(dir: &std::path::Path) -> (TlsAcceptor, ClientTls) {
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, cert.pem()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let client = ClientTls::new(&TlsOptions {
        ca_file: Some(ca),
        ..TlsOptions::default()
    })
    .unwrap();
    (TlsAcceptor::from(Arc::new(config)), client)
}

/// Sends `iters` batches with 16 in flight; the time it took.
async fn round(exporter: &Exporter, body: &Bytes, spans: u64, iters: u64) -> Duration {
    let tenant = HeaderValue::from_static("bench");
    let started = Instant::now();
    futures_util::stream::iter(0..iters)
        .map(|_| exporter.export(tenant.clone(), body.clone(), spans))
        .buffer_unordered(16)
        .for_each(|delivery| {
            assert_eq!(delivery.acked, spans, "{delivery:?}");
            async {}
        })
        .await;
    started.elapsed()
}

fn export(c: &mut Criterion) {
    let model = StreamModel::new(StreamSpec::default(), 7, 0).unwrap();
    let traces = 512 / model.spans_per_trace();
    let mut template = Template::new(&model, traces).unwrap();
    let spans = template.spans() as u64;
    let range = SeqRange {
        first: 0,
        stride: 1,
    };
    let body = Bytes::copy_from_slice(template.patch(&model, range, 1_700_000_000_000_000_000));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (acceptor, client_tls) = certificates(dir.path());
    let mut group = c.benchmark_group("export_grpc_loopback");
    group.throughput(Throughput::Elements(spans));
    for (name, tls) in [("plaintext", None), ("tls", Some(acceptor))] {
        let scheme = if tls.is_some() { "grpcs" } else { "grpc" };
        let exporter = runtime.block_on(async {
            let addr = start_sink(tls).await;
            let target: Target = format!("{scheme}://{addr}").parse().unwrap();
            let opts = TransportOptions {
                tls: client_tls.clone(),
                ..TransportOptions::default()
            };
            Exporter::connect(&target, &opts).await.unwrap()
        });
        group.bench_function(name, |b| {
            b.iter_custom(|iters| runtime.block_on(round(&exporter, &body, spans, iters)))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = export
}
criterion_main!(benches);
