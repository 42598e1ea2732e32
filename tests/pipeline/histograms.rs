//! Histograms: quantiles of known inputs, sent over gRPC, are within the precision promised by
//! the configured significant digits.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::support::pipeline::*;

async fn check_precision(digits: u8) {
    let mut config = test_config();
    config.histogram_digits = digits;
    config.workers = 2;
    let pipeline = start(config).await;
    let mut client = grpc_client(&pipeline).await;
    let mut rng = StdRng::seed_from_u64(u64::from(digits));
    // Log-uniform from 100 ns to 2 hours, plus the hard edges.
    let mut durations: Vec<u64> = (0..20_000)
        .map(|_| 10f64.powf(rng.random_range(2.0..12.86)) as u64)
        .collect();
    durations.extend([0, 1, 999, 1000, 1001, 1 << 20, 7_200_000_000_000]);
    let start_ns = now_ns();
    for (i, chunk) in durations.chunks(1000).enumerate() {
        let spans = chunk
            .iter()
            .enumerate()
            .map(|(j, d)| {
                span(
                    (i * 1000 + j) as u64 + 1,
                    1,
                    Some(9),
                    "op",
                    start_ns,
                    *d,
                    false,
                )
            })
            .collect();
        assert_eq!(
            export(&mut client, "hist", request("svc", spans))
                .await
                .unwrap(),
            0
        );
    }
    let body = eventually(std::time::Duration::from_secs(10), || async {
        let json = get(&pipeline, "hist", "/api/v1/histograms").await.json();
        (json["series"][0]["count"] == durations.len()).then_some(json)
    })
    .await;
    assert_eq!(body["significant_digits"], digits);
    let series = &body["series"][0];
    assert_eq!(
        (series["service"].as_str(), series["operation"].as_str()),
        (Some("svc"), Some("op"))
    );
    durations.sort_unstable();
    let n = durations.len();
    let tolerance = 10f64.powi(-i32::from(digits));
    for (key, q) in [
        ("p50_ns", 0.5),
        ("p90_ns", 0.9),
        ("p99_ns", 0.99),
        ("p999_ns", 0.999),
        ("max_ns", 1.0),
    ] {
        // The rank definition of hdrhistogram: the smallest value with at least ceil(q·n) at or below it.
        let rank = ((q * n as f64).ceil() as usize).max(1);
        let exact = durations[rank - 1] as f64;
        let reported = series[key].as_u64().unwrap() as f64;
        let error = (reported - exact).abs() / exact.max(1.0);
        assert!(
            error <= tolerance,
            "{key}: exact {exact}, reported {reported}, error {error} > {tolerance}"
        );
    }
    pipeline.shutdown().await;
}

#[tokio::test]
async fn quantiles_are_within_the_precision_of_2_significant_digits() {
    check_precision(2).await;
}

#[tokio::test]
async fn quantiles_are_within_the_precision_of_3_significant_digits() {
    check_precision(3).await;
}
