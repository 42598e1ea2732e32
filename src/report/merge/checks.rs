//! What makes reports mergeable: one seed, one test digest, and segments that cover `[0, 1)`
//! exactly once. Each refusal names the file and the field.

use super::Input;
use crate::engine::Fraction;
use crate::error::UsageError;

/// The same seed and test digest in every report.
pub fn same_run(inputs: &[Input]) -> Result<(), UsageError> {
    let Some(first) = inputs.first() else {
        return Err(UsageError::new("merge needs at least one report"));
    };
    for other in &inputs[1..] {
        let (a, b) = (&first.report, &other.report);
        let differs =
            |field: &str, mine: &dyn std::fmt::Display, theirs: &dyn std::fmt::Display| {
                UsageError::new(format!(
                    "{}: field `{field}` is {theirs}, but {} has {mine}: reports of different runs \
                 cannot be merged",
                    other.path.display(),
                    first.path.display()
                ))
            };
        if a.seed != b.seed {
            return Err(differs("seed", &a.seed, &b.seed));
        }
        if a.test_digest != b.test_digest {
            return Err(differs("test_digest", &a.test_digest, &b.test_digest));
        }
    }
    Ok(())
}

/// A report's segment `[start, end)`; the whole test when it has none.
fn bounds(input: &Input) -> Result<(Fraction, Fraction), UsageError> {
    let Some(seg) = &input.report.segment else {
        return Ok((Fraction::ZERO, Fraction::ONE));
    };
    let parse = |field: &str, s: &str| {
        Fraction::parse(s).map_err(|e| {
            UsageError::new(format!(
                "{}: field `segment.{field}`: {e}",
                input.path.display()
            ))
        })
    };
    Ok((parse("start", &seg.start)?, parse("end", &seg.end)?))
}

/// The segments tile `[0, 1)`: no gap, no overlap.
pub fn cover_once(inputs: &[Input]) -> Result<(), UsageError> {
    let mut segments = Vec::with_capacity(inputs.len());
    for input in inputs {
        let (start, end) = bounds(input)?;
        segments.push((start, end, input.path.display().to_string()));
    }
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
