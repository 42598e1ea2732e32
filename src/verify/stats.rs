//! Statistics behind the verdicts: the two-proportion test that tells a real drop in
//! completeness from noise. Pure numeric functions with no knowledge of checks or phases.

/// One-sided two-proportion z-test: the p-value of "the second proportion is lower".
pub fn two_proportion_p(success_a: u64, n_a: u64, success_b: u64, n_b: u64) -> f64 {
    if n_a == 0 || n_b == 0 {
        return 1.0;
    }
    let (pa, pb) = (success_a as f64 / n_a as f64, success_b as f64 / n_b as f64);
    let pooled = (success_a + success_b) as f64 / (n_a + n_b) as f64;
    let se = (pooled * (1.0 - pooled) * (1.0 / n_a as f64 + 1.0 / n_b as f64)).sqrt();
    if se == 0.0 {
        return if pb < pa { 0.0 } else { 1.0 };
    }
    let z = (pa - pb) / se;
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

/// Complementary error function (Numerical Recipes' erfc, relative error below 1.2e-7).
pub fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_proportion_p_values_are_sane() {
        assert!(two_proportion_p(100, 100, 80, 100) < 0.001);
        assert!(two_proportion_p(100, 100, 99, 100) > 0.1);
        assert_eq!(two_proportion_p(100, 100, 100, 100), 1.0);
        assert!((erfc(0.0) - 1.0).abs() < 1e-6 && (erfc(1.0) - 0.157_299_2).abs() < 1e-6);
    }
}
