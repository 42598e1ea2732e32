//! Prometheus' `histogram_quantile` over a classic histogram, as its documentation specifies:
//! buckets are cumulative counts under inclusive upper bounds (`le`), the last one `+Inf`; the
//! rank is `q` times the number of observations; the answer lies in the first bucket whose
//! cumulative count reaches the rank, by linear interpolation between the bucket's lower bound
//! (the previous bucket's upper bound, or 0 for the first bucket when its upper bound is
//! positive) and its upper bound. A rank in the `+Inf` bucket answers the highest finite bound.
//!
//! It is its own function, apart from any series, because a real Prometheus reading the
//! pipeline's `/metrics` must agree with it: the two validate each other.

/// `histogram_quantile(q, …)` of one classic histogram: `upper` are the finite `le` bounds in
/// ascending order, `cumulative` the counts of those buckets and then of `+Inf` (one more).
/// `None` when the histogram has no observations.
pub fn histogram_quantile(q: f64, upper: &[f64], cumulative: &[f64]) -> Option<f64> {
    debug_assert_eq!(upper.len() + 1, cumulative.len());
    let observations = *cumulative.last()?;
    if observations <= 0.0 || q.is_nan() {
        return None;
    }
    if q < 0.0 {
        return Some(f64::NEG_INFINITY);
    }
    if q > 1.0 {
        return Some(f64::INFINITY);
    }
    let rank = q * observations;
    // The first finite bucket whose cumulative count reaches the rank; none: the +Inf bucket.
    let Some(b) = cumulative[..upper.len()].iter().position(|&c| c >= rank) else {
        return upper.last().copied();
    };
    if b == 0 && upper[0] <= 0.0 {
        return Some(upper[0]);
    }
    let (start, below) = match b {
        0 => (0.0, 0.0),
        _ => (upper[b - 1], cumulative[b - 1]),
    };
    let count = cumulative[b] - below;
    Some(start + (upper[b] - start) * ((rank - below) / count))
}

#[cfg(test)]
mod tests {
    use super::histogram_quantile;

    // Buckets le=1: 2, le=2: 6, le=4: 8, +Inf: 10 (cumulative).
    const UPPER: [f64; 3] = [1.0, 2.0, 4.0];
    const CUM: [f64; 4] = [2.0, 6.0, 8.0, 10.0];

    #[test]
    fn interpolates_linearly_inside_the_bucket_that_reaches_the_rank() {
        // q=0.5: rank 5; first cumulative ≥ 5 is le=2 (6); it holds 6−2 = 4, the rank is 3 into
        // it: 1 + (2−1)·3/4 = 1.75.
        assert_eq!(histogram_quantile(0.5, &UPPER, &CUM), Some(1.75));
        // q=0.1: rank 1, in the first bucket (0, 1]: 0 + 1·1/2 = 0.5.
        assert_eq!(histogram_quantile(0.1, &UPPER, &CUM), Some(0.5));
        // q=0.7: rank 7, bucket le=4 holds 2, 1 into it: 2 + 2·1/2 = 3.
        assert_eq!(histogram_quantile(0.7, &UPPER, &CUM), Some(3.0));
        // q=0.8: rank 8 reaches le=4 exactly: its upper bound, 4.
        assert_eq!(histogram_quantile(0.8, &UPPER, &CUM), Some(4.0));
    }

    #[test]
    fn a_rank_in_the_inf_bucket_answers_the_highest_finite_bound() {
        // q=0.9: rank 9 > 8, so the +Inf bucket: 4, however large the values were.
        assert_eq!(histogram_quantile(0.9, &UPPER, &CUM), Some(4.0));
        assert_eq!(histogram_quantile(1.0, &UPPER, &CUM), Some(4.0));
    }

    #[test]
    fn edge_cases_follow_the_documentation() {
        assert_eq!(histogram_quantile(0.5, &UPPER, &[0.0; 4]), None);
        assert_eq!(
            histogram_quantile(-0.1, &UPPER, &CUM),
            Some(f64::NEG_INFINITY)
        );
        assert_eq!(histogram_quantile(1.1, &UPPER, &CUM), Some(f64::INFINITY));
        // A first bucket with a bound ≤ 0 answers that bound.
        assert_eq!(
            histogram_quantile(0.1, &[0.0, 1.0], &[3.0, 4.0, 4.0]),
            Some(0.0)
        );
    }
}
