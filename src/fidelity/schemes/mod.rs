//! The histogram schemes people run in front of their latency dashboards, each fed the same
//! values in-process: HDR (the `hdrhistogram` crate), OpenTelemetry explicit buckets with the
//! spanmetrics connector's default boundaries, OpenTelemetry exponential buckets (160 buckets,
//! scale from 20 down), Prometheus classic buckets read by `histogram_quantile`, Prometheus
//! native histograms, and DDSketch (the `sketches-ddsketch` crate).
//!
//! Every scheme is one [`Series`]: values go in as nanoseconds, a quantile comes out as the value
//! that scheme's usual reader would show, and the series says how many bytes it keeps. The
//! schemes with no well-kept Rust library are written from their published specifications in
//! their own files, each with tests worked out by hand.

pub mod ddsketch;
pub mod explicit;
pub mod exponential;
pub mod hdr;
pub mod native;
pub mod prom_classic;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// One histogram series of a scheme.
pub trait Series {
    /// Records one duration, ns.
    fn record(&mut self, ns: u64);
    /// The quantile `q` (1.0 = max) as the scheme's reader reports it, ns.
    fn quantile(&self, q: f64) -> f64;
    /// Bytes this series keeps (counters and per-series fields; boundaries shared by every series
    /// of a configuration are not counted).
    fn memory_bytes(&self) -> usize;
}

/// The schemes `--schemes` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scheme {
    /// HDR histogram (`hdrhistogram`), at the pipeline's significant digits.
    Hdr,
    /// OpenTelemetry explicit buckets, spanmetrics connector defaults, with min and max.
    OtelExplicit,
    /// OpenTelemetry exponential buckets: at most 160, scale 20 at most.
    OtelExponential,
    /// Prometheus classic buckets (spanmetrics defaults) read by `histogram_quantile`.
    PromClassic,
    /// Prometheus native histogram: schema 3 at most, at most 160 populated buckets.
    PromNative,
    /// DDSketch (`sketches-ddsketch` defaults: 1% relative accuracy, 2048 bins).
    Ddsketch,
}

/// Every scheme, in report order.
pub const ALL_SCHEMES: [Scheme; 6] = [
    Scheme::Hdr,
    Scheme::OtelExplicit,
    Scheme::OtelExponential,
    Scheme::PromClassic,
    Scheme::PromNative,
    Scheme::Ddsketch,
];

impl Scheme {
    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Hdr => "hdr",
            Scheme::OtelExplicit => "otel-explicit",
            Scheme::OtelExponential => "otel-exponential",
            Scheme::PromClassic => "prom-classic",
            Scheme::PromNative => "prom-native",
            Scheme::Ddsketch => "ddsketch",
        }
    }

    /// What the scheme is, as configured here, for the report.
    pub fn describe(self, digits: u8) -> String {
        match self {
            Scheme::Hdr => format!("HDR histogram, {digits} significant digits"),
            Scheme::OtelExplicit => {
                "OTel explicit buckets (spanmetrics defaults, 2 ms..15 s), linear within a \
                 bucket, open ends bounded by min and max"
                    .into()
            }
            Scheme::OtelExponential => {
                "OTel exponential, max 160 buckets, scale ≤ 20, in ms; exponential \
                 interpolation, clamped to min and max"
                    .into()
            }
            Scheme::PromClassic => {
                "Prometheus classic buckets (spanmetrics defaults) read by histogram_quantile"
                    .into()
            }
            Scheme::PromNative => "Prometheus native histogram, schema ≤ 3, ≤ 160 buckets, in s; \
                 histogram_quantile"
                .into(),
            Scheme::Ddsketch => "DDSketch, relative accuracy 0.01, 2048 bins".into(),
        }
    }

    /// An empty series of this scheme (`digits`: the HDR histogram's significant digits).
    pub fn series(self, digits: u8) -> Box<dyn Series> {
        match self {
            Scheme::Hdr => Box::new(hdr::HdrSeries::new(digits)),
            Scheme::OtelExplicit => Box::new(explicit::OtelExplicit::spanmetrics_default()),
            Scheme::OtelExponential => Box::new(exponential::OtelExponential::default()),
            Scheme::PromClassic => Box::new(explicit::PromClassic::spanmetrics_default()),
            Scheme::PromNative => Box::new(native::PromNative::default()),
            Scheme::Ddsketch => Box::new(ddsketch::DdSketchSeries::default()),
        }
    }

    /// Whether the scheme's boundaries are a list the user chooses (so a recommendation can name
    /// boundaries that would meet an error budget).
    pub fn is_explicit(self) -> bool {
        matches!(self, Scheme::OtelExplicit | Scheme::PromClassic)
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Scheme {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ALL_SCHEMES
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = ALL_SCHEMES.iter().map(|k| k.name()).collect();
                format!("unknown scheme {s:?}; expected one of {}", names.join(", "))
            })
    }
}

/// Records every value into a fresh series of `scheme`.
pub fn fill(scheme: Scheme, digits: u8, values: &[u64]) -> Box<dyn Series> {
    let mut series = scheme.series(digits);
    for &v in values {
        series.record(v);
    }
    series
}

/// Bytes of `n` 64-bit counters or fields.
pub(crate) const fn words(n: usize) -> usize {
    n * std::mem::size_of::<u64>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_say_what_is_accepted() {
        for s in ALL_SCHEMES {
            assert_eq!(s.name().parse::<Scheme>(), Ok(s));
        }
        let err = "prom".parse::<Scheme>().unwrap_err();
        assert!(
            err.contains("prom-classic") && err.contains("ddsketch"),
            "{err}"
        );
    }
}
