//! What makes reports mergeable: one seed, one test digest, and segments that cover `[0, 1)`
//! exactly once. Each refusal names the file and the field.

use std::path::Path;

use super::Input;
use crate::engine::Fraction;
use crate::error::UsageError;
use crate::report::capacity::CapacityReport;
use crate::report::load::LoadReport;
use crate::report::run::RunReport;
use crate::report::split::SegmentReport;

/// What tells the runs and segments of reports apart.
#[derive(Debug, Clone)]
pub struct Key<'a> {
    /// The file.
    pub path: &'a Path,
    /// The field that holds the load's seed (`seed` or `load_seed`) and its value.
    pub seed: (&'static str, Option<u64>),
    /// The test digest.
    pub digest: Option<&'a str>,
    /// The segment; the whole test when absent.
    pub segment: Option<&'a SegmentReport>,
}

impl<'a> Key<'a> {
    /// The key of a `load` report.
    pub fn of_load(i: &'a Input<LoadReport>) -> Self {
        Self {
            path: &i.path,
            seed: ("seed", Some(i.report.seed)),
            digest: Some(&i.report.test_digest),
            segment: i.report.segment.as_ref(),
        }
    }

    /// The key of a `run` report.
    pub fn of_run(i: &'a Input<RunReport>) -> Self {
        Self {
            path: &i.path,
            seed: ("load_seed", i.report.load_seed),
            digest: i.report.test_digest.as_deref(),
            segment: i.report.segment.as_ref(),
        }
    }

    /// The key of a `capacity` report.
    pub fn of_capacity(i: &'a Input<CapacityReport>) -> Self {
        Self {
            path: &i.path,
            seed: ("load_seed", i.report.split.load_seed),
            digest: i.report.split.test_digest.as_deref(),
            segment: i.report.split.segment.as_ref(),
        }
    }

    fn missing(&self, field: &str) -> UsageError {
        UsageError::new(format!(
            "{}: field `{field}` is missing: a report written by a span-sentinel without \
             mergeable reports cannot be merged",
            self.path.display()
        ))
    }
}

/// The same seed and test digest in every report.
pub fn same_run(keys: &[Key<'_>]) -> Result<(), UsageError> {
    let Some(first) = keys.first() else {
        return Err(UsageError::new("merge needs at least one report"));
    };
    for k in keys {
        k.seed.1.ok_or_else(|| k.missing(k.seed.0))?;
        k.digest.ok_or_else(|| k.missing("test_digest"))?;
    }
    for other in &keys[1..] {
        let differs =
            |field: &str, mine: &dyn std::fmt::Display, theirs: &dyn std::fmt::Display| {
                UsageError::new(format!(
                    "{}: field `{field}` is {theirs}, but {} has {mine}: reports of different runs \
                 cannot be merged",
                    other.path.display(),
                    first.path.display()
                ))
            };
        let (a, b) = (
            first.seed.1.unwrap_or_default(),
            other.seed.1.unwrap_or_default(),
        );
        if a != b {
            return Err(differs(first.seed.0, &a, &b));
        }
        let (a, b) = (
            first.digest.unwrap_or_default(),
            other.digest.unwrap_or_default(),
        );
        if a != b {
            return Err(differs("test_digest", &a, &b));
        }
    }
    Ok(())
}

/// A report's segment `[start, end)`; the whole test when it has none.
fn bounds(key: &Key<'_>) -> Result<(Fraction, Fraction), UsageError> {
    let Some(seg) = key.segment else {
        return Ok((Fraction::ZERO, Fraction::ONE));
    };
    let parse = |field: &str, s: &str| {
        Fraction::parse(s).map_err(|e| {
            UsageError::new(format!(
                "{}: field `segment.{field}`: {e}",
                key.path.display()
            ))
        })
    };
    Ok((parse("start", &seg.start)?, parse("end", &seg.end)?))
}

/// The segments tile `[0, 1)`: no gap, no overlap.
pub fn cover_once(keys: &[Key<'_>]) -> Result<(), UsageError> {
    let mut segments = Vec::with_capacity(keys.len());
    for key in keys {
        let (start, end) = bounds(key)?;
        segments.push((start, end, key.path.display().to_string()));
    }
    tile(segments)
}

/// `segments` (start, end, file) tile `[0, 1)`.
fn tile(mut segments: Vec<(Fraction, Fraction, String)>) -> Result<(), UsageError> {
    segments.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut covered = Fraction::ZERO;
    let mut last = "the start of the test".to_owned();
    for (start, end, path) in &segments {
        if *start > covered {
            return Err(UsageError::new(format!(
                "{path}: field `segment`: the segments leave a gap [{covered}, {start}) between \
                 {last} and {path}: add the report of the missing segment"
            )));
        }
        if *start < covered {
            return Err(UsageError::new(format!(
                "{path}: field `segment` {start}:{end} overlaps {last}, which covers up to \
                 {covered}: each segment must be merged once"
            )));
        }
        covered = *end;
        last = path.clone();
    }
    if covered < Fraction::ONE {
        return Err(UsageError::new(format!(
            "{last}: field `segment`: the segments leave a gap [{covered}, 1) after it: add the \
             report of the missing segment"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::tile;
    use crate::engine::Fraction;

    fn set(bounds: &[(&str, &str)]) -> Result<(), String> {
        let f = |s: &str| Fraction::parse(s).unwrap();
        let segments = bounds
            .iter()
            .enumerate()
            .map(|(i, (a, b))| (f(a), f(b), format!("s{i}.json")))
            .collect();
        tile(segments).map_err(|e| e.to_string())
    }

    #[test]
    fn segments_with_any_denominators_that_tile_the_test_merge() {
        assert_eq!(set(&[("0", "1")]), Ok(()));
        assert_eq!(
            set(&[("1/2", "3/4"), ("0", "1/3"), ("0.75", "1"), ("2/6", "0.5")]),
            Ok(())
        );
    }

    #[test]
    fn gaps_and_overlaps_are_refused_naming_the_file() {
        let gap = set(&[("0", "1/3"), ("0.34", "1")]).unwrap_err();
        assert!(
            gap.starts_with("s1.json") && gap.contains("gap [1/3, 17/50)"),
            "{gap}"
        );
        let end = set(&[("0", "1/2"), ("1/2", "99/100")]).unwrap_err();
        assert!(end.contains("gap [99/100, 1)"), "{end}");
        let start = set(&[("1/4", "1")]).unwrap_err();
        assert!(start.contains("gap [0, 1/4)"), "{start}");
        let overlap = set(&[("0", "1/2"), ("1/3", "1")]).unwrap_err();
        assert!(
            overlap.starts_with("s1.json") && overlap.contains("overlaps s0.json"),
            "{overlap}"
        );
        let twice = set(&[("0", "1"), ("0", "1")]).unwrap_err();
        assert!(twice.contains("overlaps"), "{twice}");
    }
}
