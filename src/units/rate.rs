//! Rates as people write them: `1000000`, `1e6`, `1M`, `100k`, `2.5M`, `1G` (k = 10³, M = 10⁶,
//! G = 10⁹, either case for k), the way the output prints them (`1.00M`, `100.0k`). One parser
//! for every rate flag and every rate field of a profile, so they all accept the same spellings.

use serde::{Deserialize, Deserializer};

/// Parses a rate in spans per second; the error says what would be accepted.
pub fn parse(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let (number, scale) = match t.char_indices().last() {
        Some((i, 'k' | 'K')) => (&t[..i], 1e3),
        Some((i, 'M')) => (&t[..i], 1e6),
        Some((i, 'G')) => (&t[..i], 1e9),
        _ => (t, 1.0),
    };
    match number.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v * scale),
        _ => Err(format!(
            "{s:?} is not a rate; give spans per second, e.g. 1000000, 1M, 500k or 2.5M"
        )),
    }
}

/// Parses a rate that must be above zero (a flag's value parser).
pub fn parse_positive(s: &str) -> Result<f64, String> {
    match parse(s)? {
        v if v > 0.0 => Ok(v),
        _ => Err(format!("{s:?} must be above zero spans per second")),
    }
}

/// A rate field of a profile: a number, or a string such as `"1M"`.
pub fn de<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Number(f64),
        Text(String),
    }
    match Raw::deserialize(d)? {
        Raw::Number(v) => Ok(v),
        Raw::Text(s) => parse(&s).map_err(serde::de::Error::custom),
    }
}

/// Human form of a rate: `19.8M`, `512.0k`, `37`.
pub fn human(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.1}k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_take_the_suffixes_the_output_prints() {
        for (text, rate) in [
            ("1M", 1e6),
            ("100k", 1e5),
            ("500K", 5e5),
            ("2.5M", 2.5e6),
            ("1G", 1e9),
            ("1000000", 1e6),
            ("1e6", 1e6),
            (" 42 ", 42.0),
        ] {
            assert_eq!(parse(text), Ok(rate), "{text}");
        }
        for bad in ["", "M", "1m", "fast", "-5k", "1MM"] {
            let err = parse(bad).unwrap_err();
            assert!(err.contains("1M, 500k"), "{bad}: {err}");
        }
        assert!(parse_positive("0").is_err());
    }

    #[test]
    fn profile_fields_take_numbers_or_suffixed_strings() {
        #[derive(Deserialize)]
        struct S {
            #[serde(deserialize_with = "de")]
            rate: f64,
        }
        let s: S = toml::from_str("rate = \"1M\"").unwrap();
        assert_eq!(s.rate, 1e6);
        let s: S = toml::from_str("rate = 250000.0").unwrap();
        assert_eq!(s.rate, 250_000.0);
        let s: S = toml::from_str("rate = 250000").unwrap();
        assert_eq!(s.rate, 250_000.0);
        assert!(toml::from_str::<S>("rate = \"lots\"").is_err());
    }
}
