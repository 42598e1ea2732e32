//! The segment flags (`--segment I/N`, `--execution-segment A:B` with
//! `--execution-segment-sequence`, `--segments N` with `JOB_COMPLETION_INDEX`) → the share of
//! the whole test this process sends and its place in the segment set. Mistakes name the flag or
//! the variable and exit 2.

use crate::engine::segment::{Fraction, Segment, SegmentPlace};
use crate::error::UsageError;

/// The variable a Kubernetes Indexed Job sets to the pod's index (0 to completions - 1).
pub const INDEX_VAR: &str = "JOB_COMPLETION_INDEX";

/// The segment flags as given.
#[derive(Debug, Clone, Default)]
pub struct SegmentFlags {
    /// `--segment I/N`: the I-th (from 0) of N equal segments.
    pub segment: Option<String>,
    /// `--execution-segment A:B`.
    pub execution_segment: Option<String>,
    /// `--execution-segment-sequence 0,A,B,...,1`.
    pub sequence: Option<String>,
    /// `--segments N`: N equal segments, this one from `JOB_COMPLETION_INDEX`.
    pub segments: Option<u32>,
}

impl SegmentFlags {
    /// Resolves the flags, reading the index variable through `var` when `--segments` asks.
    pub fn resolve(
        &self,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<SegmentPlace, UsageError> {
        if let Some(s) = &self.segment {
            let (i, n) = parse_index_of(s)?;
            return equal(i, n, &format!("--segment {s}"));
        }
        if let Some(n) = self.segments {
            let raw = var(INDEX_VAR).ok_or_else(|| {
                UsageError::new(format!(
                    "--segments {n} takes this process's index from {INDEX_VAR} (set by a \
                     Kubernetes Indexed Job), which is not set; use --segment I/{n} outside one"
                ))
            })?;
            let i = raw.trim().parse::<u64>().map_err(|_| {
                UsageError::new(format!(
                    "{INDEX_VAR}={raw:?} is not a number (0 to {})",
                    n.max(1) - 1
                ))
            })?;
            return equal(
                i,
                u64::from(n),
                &format!("{INDEX_VAR}={i} with --segments {n}"),
            );
        }
        match &self.execution_segment {
            Some(s) => explicit(s, self.sequence.as_deref()),
            None => Ok(SegmentPlace::WHOLE),
        }
    }
}

/// `I/N` with 0 ≤ I < N.
fn parse_index_of(s: &str) -> Result<(u64, u64), UsageError> {
    let bad = || {
        UsageError::new(format!(
            "--segment {s:?}: expected I/N, the I-th of N equal segments counted from 0 (0/4 to 3/4)"
        ))
    };
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    Ok((
        i.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    ))
}

/// The `i`-th of `n` equal segments; `what` names where `i` and `n` came from.
fn equal(i: u64, n: u64, what: &str) -> Result<SegmentPlace, UsageError> {
    if n == 0 || i >= n {
        return Err(UsageError::new(format!(
            "{what}: the index counts from 0 and must be below the number of segments ({n})"
        )));
    }
    let at = |k| Fraction::new(k, n).expect("k ≤ n");
    Ok(SegmentPlace {
        segment: Segment::new(at(i), at(i + 1)).expect("i < i + 1"),
        index: i as usize,
        count: n as usize,
    })
}

/// `--execution-segment A:B` within `--execution-segment-sequence` (default `0,A,B,1`).
fn explicit(s: &str, sequence: Option<&str>) -> Result<SegmentPlace, UsageError> {
    let flag = |msg: String| UsageError::new(format!("--execution-segment {s:?}: {msg}"));
    let (a, b) = s
        .split_once(':')
        .ok_or_else(|| flag("expected A:B, e.g. 1/4:1/2".into()))?;
    let (a, b) = (
        Fraction::parse(a).map_err(flag)?,
        Fraction::parse(b).map_err(flag)?,
    );
    let segment = Segment::new(a, b).ok_or_else(|| flag(format!("{a} must be below {b}")))?;
    let bounds = match sequence {
        Some(seq) => parse_sequence(seq)?,
        None => [Fraction::ZERO, a, b, Fraction::ONE]
            .into_iter()
            .fold(Vec::new(), |mut v, f| {
                if v.last() != Some(&f) {
                    v.push(f);
                }
                v
            }),
    };
    let index = bounds
        .windows(2)
        .position(|w| w[0] == a && w[1] == b)
        .ok_or_else(|| {
            flag("is not one of the segments of --execution-segment-sequence (two of its neighbouring values)".into())
        })?;
    Ok(SegmentPlace {
        segment,
        index,
        count: bounds.len() - 1,
    })
}

/// `0,1/4,1/2,1`: strictly increasing from 0 to 1, so its segments tile the test.
fn parse_sequence(seq: &str) -> Result<Vec<Fraction>, UsageError> {
    let flag =
        |msg: String| UsageError::new(format!("--execution-segment-sequence {seq:?}: {msg}"));
    let bounds = seq
        .split(',')
        .map(Fraction::parse)
        .collect::<Result<Vec<_>, _>>()
        .map_err(flag)?;
    if bounds.first() != Some(&Fraction::ZERO) || bounds.last() != Some(&Fraction::ONE) {
        return Err(flag(
            "must start at 0 and end at 1, or the segments leave a gap".into(),
        ));
    }
    if let Some(w) = bounds
        .windows(2)
        .find(|w| Segment::new(w[0], w[1]).is_none())
    {
        return Err(flag(format!(
            "must increase: {} then {} would make segments overlap or be empty",
            w[0], w[1]
        )));
    }
    Ok(bounds)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(flags: SegmentFlags, index: Option<&str>) -> Result<SegmentPlace, String> {
        flags
            .resolve(|_| index.map(str::to_owned))
            .map_err(|e| e.to_string())
    }

    fn segment(s: &str) -> SegmentFlags {
        SegmentFlags {
            segment: Some(s.into()),
            ..Default::default()
        }
    }

    fn explicit(s: &str, seq: Option<&str>) -> SegmentFlags {
        SegmentFlags {
            execution_segment: Some(s.into()),
            sequence: seq.map(Into::into),
            ..Default::default()
        }
    }

    #[test]
    fn every_form_names_the_same_segment() {
        let a = resolve(segment("2/4"), None).unwrap();
        let b = resolve(explicit("1/2:3/4", Some("0,1/4,0.5,3/4,1")), None).unwrap();
        let k8s = SegmentFlags {
            segments: Some(4),
            ..Default::default()
        };
        let c = resolve(k8s, Some("2")).unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert_eq!((a.index, a.count), (2, 4));
        assert_eq!(
            resolve(SegmentFlags::default(), None).unwrap(),
            SegmentPlace::WHOLE
        );
    }

    #[test]
    fn bad_segments_name_the_flag_or_variable() {
        let k8s = || SegmentFlags {
            segments: Some(4),
            ..Default::default()
        };
        let cases = [
            (segment("4/4"), None, "--segment 4/4"),
            (segment("x"), None, "--segment"),
            (k8s(), None, "JOB_COMPLETION_INDEX"),
            (k8s(), Some("two"), "JOB_COMPLETION_INDEX=\"two\""),
            (k8s(), Some("4"), "JOB_COMPLETION_INDEX=4"),
            (explicit("1/2:1/4", None), None, "--execution-segment"),
            (explicit("1/4:1/2", Some("0,1/4,1/4,1")), None, "overlap"),
            (explicit("1/4:1/2", Some("0,1/2,1/4,1")), None, "overlap"),
            (explicit("0:1/4", Some("0,1/4,3/4")), None, "gap"),
            (
                explicit("1/4:1/2", Some("0,1/4,3/4,1")),
                None,
                "is not one of",
            ),
        ];
        for (flags, index, want) in cases {
            let err = resolve(flags.clone(), index).unwrap_err();
            assert!(err.contains(want), "{flags:?}: {err}");
        }
    }
}
