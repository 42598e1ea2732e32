//! Durations in profiles and flags are human-readable (`"500us"`, `"20ms"`, `"1m30s"`), parsed
//! with humantime. Use as `#[serde(with = "crate::units::duration")]`.

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serializer};

/// Parses a human duration such as `20ms`; the error says what is accepted.
pub fn parse(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim())
        .map_err(|e| format!("{s:?} is not a duration ({e}); write e.g. 500us, 20ms, 1.5s, 2m"))
}

/// Serde deserializer for a human duration.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    parse(&s).map_err(serde::de::Error::custom)
}

/// Serde serializer for a human duration.
pub fn serialize<S: Serializer>(value: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&humantime::format_duration(*value).to_string())
}
