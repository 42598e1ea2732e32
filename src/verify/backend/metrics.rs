//! The metrics backend: latency histograms from the reference API (exact quantiles) or from a
//! Prometheus that scrapes the Collector's spanmetrics connector (`--metrics
//! prometheus://HOST:PORT`, read by `verify::spanmetrics`: each quantile known to its bucket).

use std::collections::BTreeMap;
use std::str::FromStr;

use crate::verify::api::Series;
use crate::verify::histograms::{self, BucketedSeries, Comparison};
use crate::verify::spanmetrics::SpanmetricsPlan;

/// `--metrics prometheus://HOST:PORT`: where the sentinel's latency histograms are read.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsPlan {
    /// Base URL of the Prometheus HTTP API (`http://HOST:PORT`, or `https://` with
    /// `prometheus+https://`), with any path prefix.
    pub base_url: String,
    /// The spanmetrics histogram's name, labels and unit (the connector's defaults unless the
    /// profile says otherwise).
    pub spanmetrics: SpanmetricsPlan,
}

/// The address part of `--metrics`, before the plan adds the histogram's names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrometheusUrl(pub String);

impl FromStr for PrometheusUrl {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let usage = || {
            format!(
                "{s:?}: use prometheus://HOST:PORT[/prefix] (a Prometheus scraping the \
                 Collector's spanmetrics), prometheus+https://… for TLS"
            )
        };
        let url = match (
            s.strip_prefix("prometheus://"),
            s.strip_prefix("prometheus+"),
        ) {
            (Some(rest), _) => format!("http://{rest}"),
            (None, Some(rest)) if rest.starts_with("http://") || rest.starts_with("https://") => {
                rest.to_owned()
            }
            _ => return Err(usage()),
        };
        let uri: http::Uri = url.parse().map_err(|_| usage())?;
        let host = uri.authority().is_some_and(|a| !a.host().is_empty());
        if !host || uri.query().is_some() {
            return Err(usage());
        }
        Ok(Self(url.trim_end_matches('/').to_owned()))
    }
}

/// Histograms as a backend reports them.
#[derive(Debug, Clone)]
pub enum Histograms {
    /// Exact quantiles (the reference pipeline).
    Exact(Vec<Series>),
    /// Quantiles known to their bucket (Prometheus histograms).
    Bucketed(Vec<BucketedSeries>),
}

impl Default for Histograms {
    fn default() -> Self {
        Histograms::Exact(Vec::new())
    }
}

impl Histograms {
    /// Compares `expected` durations per (service, operation) with these series.
    pub fn compare(&self, expected: BTreeMap<(String, String), Vec<u64>>) -> Comparison {
        match self {
            Histograms::Exact(s) => histograms::compare(expected, s),
            Histograms::Bucketed(s) => histograms::compare(expected, s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_urls_parse() {
        let p = |s: &str| s.parse::<PrometheusUrl>().map(|u| u.0);
        assert_eq!(
            p("prometheus://127.0.0.1:9090"),
            Ok("http://127.0.0.1:9090".into())
        );
        assert_eq!(
            p("prometheus+https://prom.example/p/"),
            Ok("https://prom.example/p".into())
        );
        for bad in [
            "http://h:1",
            "prometheus://",
            "prometheus://h:1/?q=1",
            "prometheus+ftp://h",
        ] {
            assert!(p(bad).is_err(), "{bad}");
        }
    }
}
