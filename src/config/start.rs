//! `--start-at TIME`: an RFC 3339 instant in UTC (`2026-12-03T07:00:00Z`), or `+30s` after the
//! process started (for segments started by hand on one machine).

use std::time::{Duration, SystemTime};

/// When the first phase starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartAt {
    /// At this wall-clock instant.
    At(SystemTime),
    /// This long after the process started.
    After(Duration),
}

impl StartAt {
    /// Parses the flag's value; the error says what is accepted.
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if let Some(rel) = s.strip_prefix('+') {
            return crate::units::duration::parse(rel)
                .map(StartAt::After)
                .map_err(|e| format!("{s:?}: {e}"));
        }
        humantime::parse_rfc3339(s).map(StartAt::At).map_err(|_| {
            format!(
                "{s:?} is neither an RFC 3339 instant in UTC (2026-12-03T07:00:00Z) nor a delay \
                 after the start of the process (+30s)"
            )
        })
    }

    /// The wall-clock instant, for a process that started at `process_start`.
    pub fn instant(self, process_start: SystemTime) -> SystemTime {
        match self {
            StartAt::At(t) => t,
            StartAt::After(d) => process_start + d,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_parse_and_others_are_refused() {
        let t0 = SystemTime::UNIX_EPOCH;
        let rel = StartAt::parse("+30s").unwrap();
        assert_eq!(rel.instant(t0), t0 + Duration::from_secs(30));
        let abs = StartAt::parse("1970-01-01T00:01:00Z").unwrap();
        assert_eq!(abs.instant(SystemTime::now()), t0 + Duration::from_secs(60));
        for bad in ["tomorrow", "+x", "1970-13-01T00:00:00Z"] {
            assert!(StartAt::parse(bad).is_err(), "{bad}");
        }
    }
}
