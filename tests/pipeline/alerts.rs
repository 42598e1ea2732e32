//! Alerts: a rule fires within one evaluation interval after the error ratio crosses its
//! threshold, resolves after the hysteresis, records both transitions with timestamps, and
//! POSTs each to a webhook (a real loopback HTTP receiver).

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

use crate::support::pipeline::*;

type Received = Arc<Mutex<Vec<Value>>>;

/// A loopback HTTP server that records every JSON body POSTed to it.
async fn webhook_receiver() -> (String, Received) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let received = Received::default();
    let sink = received.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let sink = sink.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: http::Request<hyper::body::Incoming>| {
                    let sink = sink.clone();
                    async move {
                        let body = req.into_body().collect().await.unwrap().to_bytes();
                        sink.lock()
                            .unwrap()
                            .push(serde_json::from_slice(&body).unwrap());
                        Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::new())))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (url, received)
}

async fn send_for(pipeline: &span_sentinel::pipeline::Pipeline, error: bool, duration: Duration) {
    let mut client = grpc_client(pipeline).await;
    let until = tokio::time::Instant::now() + duration;
    let mut trace = if error { 1_000_000 } else { 2_000_000 };
    while tokio::time::Instant::now() < until {
        export(
            &mut client,
            "alerting",
            roots("svc", "op", trace, 20, 1000, error),
        )
        .await
        .unwrap();
        trace += 20;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn error_rate_rule_fires_resolves_records_and_notifies() {
    let interval = Duration::from_millis(100);
    let pipeline = start(test_config()).await; // alert interval 100 ms
    let (url, received) = webhook_receiver().await;
    let rule = json!({
        "name": "errors", "threshold": 0.5, "window_ms": 500, "min_spans": 20,
        "clear_after_ms": 600, "webhook_url": url,
    });
    let created = send_json(
        &pipeline,
        "alerting",
        "POST",
        "/api/v1/alert-rules",
        rule.clone(),
    )
    .await;
    assert_eq!(created.status, 201);
    assert_eq!(created.json(), rule);

    send_for(&pipeline, false, Duration::from_millis(600)).await;
    assert_eq!(
        get(&pipeline, "alerting", "/api/v1/alerts").await.json()["rules"][0]["state"],
        "ok"
    );

    // Errors only: the ratio crosses 0.5 as soon as error spans are half of the window.
    let crossed = now_ns();
    send_for(&pipeline, true, Duration::from_millis(700)).await;
    let alerts = get(&pipeline, "alerting", "/api/v1/alerts").await.json();
    assert_eq!(alerts["rules"][0]["state"], "firing", "{alerts}");
    let fired = alerts["history"][0]["at_unix_nano"].as_u64().unwrap();
    assert_eq!(alerts["history"][0]["state"], "firing");
    // Crossing happens once errors are half of the 500 ms window (≈250 ms in); firing follows
    // within one evaluation interval, plus scheduling slack.
    let latency = Duration::from_nanos(fired - crossed);
    assert!(
        latency <= Duration::from_millis(250) + interval + Duration::from_millis(150),
        "{latency:?}"
    );

    let recovered = now_ns();
    send_for(&pipeline, false, Duration::from_millis(2000)).await;
    let alerts = get(&pipeline, "alerting", "/api/v1/alerts").await.json();
    assert_eq!(alerts["rules"][0]["state"], "ok", "{alerts}");
    let history = alerts["history"].as_array().unwrap();
    assert_eq!(history.len(), 2, "{alerts}");
    assert_eq!(history[1]["state"], "ok");
    let resolved = history[1]["at_unix_nano"].as_u64().unwrap();
    // Below threshold only once the error spans fall under half the window, then the hysteresis.
    assert!(Duration::from_nanos(resolved - recovered) >= Duration::from_millis(600));
    assert!(
        Duration::from_nanos(resolved - recovered)
            <= Duration::from_millis(500 + 600) + interval * 3
    );

    let notified = eventually(Duration::from_secs(5), || async {
        let r = received.lock().unwrap().clone();
        (r.len() == 2).then_some(r)
    })
    .await;
    assert_eq!(notified[0]["state"], "firing");
    assert_eq!(notified[0]["rule"], "errors");
    assert_eq!(notified[0]["tenant"], "alerting");
    assert_eq!(notified[0]["at_unix_nano"], fired);
    assert_eq!(notified[1]["state"], "ok");
    assert_eq!(notified[1]["at_unix_nano"], resolved);

    let deleted = send_json(
        &pipeline,
        "alerting",
        "DELETE",
        "/api/v1/alert-rules/errors",
        json!(null),
    )
    .await;
    assert_eq!(deleted.status, 200);
    assert_eq!(
        get(&pipeline, "alerting", "/api/v1/alert-rules")
            .await
            .json(),
        json!({"rules": []})
    );
    pipeline.shutdown().await;
}

#[tokio::test]
async fn invalid_rules_are_refused_with_the_field_named() {
    let pipeline = start(test_config()).await;
    for (rule, field) in [
        (
            json!({"name": "x", "threshold": 1.5, "window_ms": 1000}),
            "threshold",
        ),
        (
            json!({"name": "x", "threshold": 0.5, "window_ms": 0}),
            "window_ms",
        ),
        (
            json!({"name": "x", "threshold": 0.5, "window_ms": 10, "webhook_url": "ftp://x"}),
            "webhook_url",
        ),
        (
            json!({"name": "x", "threshold": 0.5, "window_ms": 10, "bogus": 1}),
            "bogus",
        ),
    ] {
        let raw = send_json(&pipeline, "t", "POST", "/api/v1/alert-rules", rule).await;
        assert_eq!(raw.status, 400);
        assert!(
            raw.json()["error"].as_str().unwrap().contains(field),
            "{:?}",
            raw.json()
        );
    }
    pipeline.shutdown().await;
}
