//! The answers of Prometheus' `GET /api/v1/query` for histogram selectors, decoded into one
//! histogram per raw series: classic `_bucket` samples (one per `le`, cumulative) and native
//! histogram samples (`histogram: [t, {count, sum, buckets: [[rule, left, right, count]]}]`).

use std::collections::BTreeMap;

use serde::Deserialize;

/// A whole answer.
#[derive(Debug, Deserialize)]
pub struct Answer {
    status: String,
    #[serde(default)]
    data: Option<Data>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Data {
    #[serde(rename = "resultType")]
    result_type: String,
    result: Vec<Sample>,
}

#[derive(Debug, Deserialize)]
struct Sample {
    metric: BTreeMap<String, String>,
    #[serde(default)]
    value: Option<(f64, String)>,
    #[serde(default)]
    histogram: Option<(f64, Native)>,
}

#[derive(Debug, Deserialize)]
struct Native {
    count: String,
    #[serde(default)]
    buckets: Vec<(u8, String, String, String)>,
}

/// One bucket, in the histogram's unit: `(lower, upper]`, non-cumulative count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bin {
    /// Lower bound (`-Inf` for a classic histogram's first bucket).
    pub lower: f64,
    /// Upper bound (`+Inf` for a classic histogram's last bucket).
    pub upper: f64,
    /// Observations in it.
    pub count: f64,
}

/// A histogram: its count and its buckets, ordered by bound.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Hist {
    /// Observations.
    pub count: f64,
    /// Buckets in ascending order.
    pub bins: Vec<Bin>,
}

/// One raw series: its labels (without `__name__` and `le`) and its histogram.
#[derive(Debug, Clone, PartialEq)]
pub struct RawSeries {
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Its histogram.
    pub hist: Hist,
}

/// A decoded instant vector.
#[derive(Debug, Default)]
pub struct Vector {
    samples: Vec<Sample>,
}

impl Answer {
    /// The instant vector, or why the answer is not one.
    pub fn into_vector(self) -> Result<Vector, String> {
        if self.status != "success" {
            return Err(format!(
                "status {}: {}",
                self.status,
                self.error.unwrap_or_default()
            ));
        }
        let data = self.data.ok_or("no data in a successful answer")?;
        if data.result_type != "vector" {
            return Err(format!(
                "a {} where a vector was expected",
                data.result_type
            ));
        }
        Ok(Vector {
            samples: data.result,
        })
    }
}

impl Vector {
    /// Whether any sample is a native histogram.
    pub fn has_native(&self) -> bool {
        self.samples.iter().any(|s| s.histogram.is_some())
    }

    /// One histogram per raw series: native samples as they are, classic `le` samples grouped by
    /// their other labels. A classic series without a `+Inf` bucket is dropped (it is not whole).
    pub fn series(&self) -> Vec<RawSeries> {
        let mut out = Vec::new();
        let mut classic: BTreeMap<BTreeMap<String, String>, Vec<(f64, f64)>> = BTreeMap::new();
        for s in &self.samples {
            let mut labels = s.metric.clone();
            labels.remove("__name__");
            if let Some((_, h)) = &s.histogram {
                out.push(RawSeries {
                    labels,
                    hist: native(h),
                });
            } else if let (Some(le), Some((_, v))) = (labels.remove("le"), &s.value) {
                let (le, v) = (number(&le), number(v));
                classic.entry(labels).or_default().push((le, v));
            }
        }
        for (labels, les) in classic {
            if let Some(hist) = cumulative(les) {
                out.push(RawSeries { labels, hist });
            }
        }
        out
    }
}

/// A number as Prometheus writes it (`+Inf`, `NaN`, `1e3`, `0.5`).
fn number(s: &str) -> f64 {
    match s {
        "+Inf" | "Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        s => s.parse().unwrap_or(f64::NAN),
    }
}

/// A native histogram's buckets as given (the boundary rule only says which bound is closed;
/// a quantile's bucket is judged with both bounds inside).
fn native(h: &Native) -> Hist {
    let mut bins: Vec<Bin> = h
        .buckets
        .iter()
        .map(|(_rule, lower, upper, count)| Bin {
            lower: number(lower),
            upper: number(upper),
            count: number(count),
        })
        .collect();
    bins.sort_by(|a, b| a.lower.total_cmp(&b.lower));
    Hist {
        count: number(&h.count),
        bins,
    }
}

/// A classic histogram from its cumulative `(le, count)` samples; `None` without `+Inf`.
fn cumulative(mut les: Vec<(f64, f64)>) -> Option<Hist> {
    les.sort_by(|a, b| a.0.total_cmp(&b.0));
    let &(last, count) = les.last()?;
    if last != f64::INFINITY {
        return None;
    }
    let mut bins = Vec::with_capacity(les.len());
    let (mut lower, mut below) = (f64::NEG_INFINITY, 0.0);
    for (le, cum) in les {
        bins.push(Bin {
            lower,
            upper: le,
            count: cum - below,
        });
        (lower, below) = (le, cum);
    }
    Some(Hist { count, bins })
}

/// Percent-encodes a query parameter (RFC 3986 unreserved characters pass).
pub fn encode_query(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
