//! How much a completeness comparison can see. The two-proportion test between baseline and a
//! later phase passes whenever it finds nothing significant — including when the phases hold too
//! few traces to find anything. The power of the test for the configured drop tells the two
//! apart: a phase too small to detect the drop is `inconclusive`, with the size it would need.
//! A degradation's effect size is reported with a confidence interval.

use super::stats::erfc;

/// Power a comparison must reach for a `pass` to mean "no drop of that size".
pub const REQUIRED_POWER: f64 = 0.8;

/// Standard normal cumulative distribution.
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

/// Standard normal quantile, by bisection of `normal_cdf` (precise to 1e-9; not a hot path).
pub fn normal_quantile(p: f64) -> f64 {
    let (mut lo, mut hi) = (-10.0, 10.0);
    for _ in 0..80 {
        let mid = (lo + hi) / 2.0;
        if normal_cdf(mid) < p {
            lo = mid
        } else {
            hi = mid
        }
    }
    (lo + hi) / 2.0
}

/// Power of the one-sided pooled two-proportion z-test at level `alpha` to find a drop of
/// `drop` from a baseline completeness `p0` over `n0` traces, with `n1` traces in the phase.
pub fn power(p0: f64, n0: u64, n1: u64, drop: f64, alpha: f64) -> f64 {
    if n0 == 0 || n1 == 0 || drop <= 0.0 {
        return 0.0;
    }
    let p1 = (p0 - drop).max(0.0);
    let (a, b) = (n0 as f64, n1 as f64);
    let pooled = (a * p0 + b * p1) / (a + b);
    let se0 = (pooled * (1.0 - pooled) * (1.0 / a + 1.0 / b)).sqrt();
    let se1 = (p0 * (1.0 - p0) / a + p1 * (1.0 - p1) / b).sqrt();
    if se1 == 0.0 {
        return 1.0;
    }
    normal_cdf((p0 - p1 - normal_quantile(1.0 - alpha) * se0) / se1)
}

/// The fewest traces per phase (the same in baseline and phase) that reach `REQUIRED_POWER`
/// for `drop` at `alpha`; `None` beyond ten million.
pub fn traces_needed(p0: f64, drop: f64, alpha: f64) -> Option<u64> {
    let enough = |n| power(p0, n, n, drop, alpha) >= REQUIRED_POWER;
    let mut hi = 1u64;
    while !enough(hi) {
        hi *= 2;
        if hi > 10_000_000 {
            return None;
        }
    }
    let mut lo = hi / 2;
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        if enough(mid) { hi = mid } else { lo = mid }
    }
    Some(hi)
}

/// Wilson score interval of `k` successes in `n` at normal quantile `z`.
fn wilson(k: u64, n: u64, z: f64) -> (f64, f64) {
    let (k, n) = (k as f64, n as f64);
    let p = k / n;
    let denom = 1.0 + z * z / n;
    let centre = (p + z * z / (2.0 * n)) / denom;
    let half = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / denom;
    (centre - half, centre + half)
}

/// The drop in proportion from `k0 / n0` to `k1 / n1`, with its 95% confidence interval
/// (Newcombe's hybrid score interval, sound near 0 and 1 where the Wald interval is not).
pub fn drop_with_ci(k0: u64, n0: u64, k1: u64, n1: u64) -> Option<(f64, f64, f64)> {
    if n0 == 0 || n1 == 0 {
        return None;
    }
    let z = normal_quantile(0.975);
    let (p0, p1) = (k0 as f64 / n0 as f64, k1 as f64 / n1 as f64);
    let ((l0, u0), (l1, u1)) = (wilson(k0, n0, z), wilson(k1, n1, z));
    let d = p0 - p1;
    let lo = d - ((p0 - l0).powi(2) + (u1 - p1).powi(2)).sqrt();
    let hi = d + ((u0 - p0).powi(2) + (p1 - l1).powi(2)).sqrt();
    Some((d, lo, hi))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_normal_distribution_is_right() {
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-7);
        assert!((normal_cdf(1.96) - 0.975).abs() < 1e-4);
        assert!((normal_quantile(0.99) - 2.326_348).abs() < 1e-4);
    }

    #[test]
    fn ninety_traces_cannot_see_a_one_percent_drop_but_a_thousand_can() {
        assert!(power(1.0, 90, 90, 0.01, 0.01) < 0.2);
        let n = traces_needed(1.0, 0.01, 0.01).unwrap();
        assert!((800..1400).contains(&n), "{n}");
        assert!(power(1.0, n, n, 0.01, 0.01) >= REQUIRED_POWER);
        assert!(power(1.0, n - 1, n - 1, 0.01, 0.01) < REQUIRED_POWER);
        // A bigger drop needs far fewer.
        assert!(traces_needed(1.0, 0.1, 0.01).unwrap() < 150);
    }

    #[test]
    fn the_drop_interval_brackets_the_drop() {
        let (d, lo, hi) = drop_with_ci(100, 100, 80, 100).unwrap();
        assert!((d - 0.2).abs() < 1e-9);
        assert!(lo > 0.1 && lo < d && hi > d && hi < 0.3, "{lo} {hi}");
        let (_, lo, _) = drop_with_ci(100, 100, 99, 100).unwrap();
        assert!(lo < 0.0, "one missing trace of 100 is no sure drop");
    }
}
