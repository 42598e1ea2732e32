//! `report NEW.json --baseline OLD.json`: the change of every check against an earlier report —
//! old and new status and value, the delta, and whether it got better or worse — so a release
//! review reads one table instead of two reports side by side.
//!
//! A check is worse when its status is more severe, or, with the status unchanged, when a value
//! whose direction is known (a capacity, a delay, an error) moved the wrong way by more than the
//! tolerance: a halved capacity that still "meets" nothing is not "same".

use std::fmt::Write as _;

use serde::Serialize;

use crate::verify::status::Status;

/// One check of one report, reduced to what is compared.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// The check.
    pub check: String,
    /// Where it was judged: a phase, a capacity step, a distribution.
    pub scope: String,
    /// Its status, when it has one.
    pub status: Option<Status>,
    /// Its value.
    pub value: Option<f64>,
}

impl Row {
    /// A row.
    pub fn new(check: &str, scope: &str, status: Option<Status>, value: Option<f64>) -> Self {
        Self {
            check: check.to_owned(),
            scope: scope.to_owned(),
            status,
            value,
        }
    }
}

/// How a check moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Movement {
    /// Same status.
    Same,
    /// A less severe status.
    Better,
    /// A more severe status.
    Worse,
    /// Only in the new report.
    New,
    /// Only in the old report.
    Gone,
}

impl Movement {
    /// The word shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Movement::Same => "same",
            Movement::Better => "better",
            Movement::Worse => "WORSE",
            Movement::New => "new",
            Movement::Gone => "gone",
        }
    }
}

/// One check in both reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// The check.
    pub check: String,
    /// Where it was judged.
    pub scope: String,
    /// Status in the old report.
    pub old_status: Option<Status>,
    /// Status in the new report.
    pub new_status: Option<Status>,
    /// Value in the old report.
    pub old_value: Option<f64>,
    /// Value in the new report.
    pub new_value: Option<f64>,
    /// New minus old value.
    pub delta: Option<f64>,
    /// How the status moved.
    pub movement: Movement,
}

/// The relative change of a value beyond which `report --baseline` calls it better or worse.
pub const DEFAULT_TOLERANCE: f64 = 0.05;

/// Which way a check's value is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Better {
    Higher,
    Lower,
}

/// The direction of the checks whose value is a figure to keep up (a capacity) or down (a
/// delay, an error); `None` for counts and ratios that the status already judges.
fn better(check: &str) -> Option<Better> {
    if check == "capacity_spans_per_sec" {
        Some(Better::Higher)
    } else if check.ends_with("_ms")
        || check.ends_with("_delay")
        || check.contains("rel_error")
        || check == "histogram_error"
    {
        Some(Better::Lower)
    } else {
        None
    }
}

/// How `new` moved from `old` by value alone, `tolerance` being the relative change allowed.
/// A figure that was there and is gone (a capacity that became none) is worse; from a baseline
/// of 0, any move is a whole change, not none.
fn by_value(check: &str, old: Option<f64>, new: Option<f64>, tolerance: f64) -> Movement {
    let Some(dir) = better(check) else {
        return Movement::Same;
    };
    let (a, b) = match (old, new) {
        (Some(a), Some(b)) => (a, b),
        (Some(_), None) => return Movement::Worse,
        _ => return Movement::Same,
    };
    let change = if a == b {
        0.0
    } else if a == 0.0 {
        (b - a).signum()
    } else {
        (b - a) / a.abs()
    };
    let up = match dir {
        Better::Higher => change,
        Better::Lower => -change,
    };
    if up < -tolerance {
        Movement::Worse
    } else if up > tolerance {
        Movement::Better
    } else {
        Movement::Same
    }
}

/// Pairs the rows of `old` and `new` by check and scope: in the new report's order, then the
/// rows only the old one has. With the same status, a value that moved the wrong way by more
/// than `tolerance` (relative) is worse, the right way better.
pub fn compare(old: &[Row], new: &[Row], tolerance: f64) -> Vec<Change> {
    let key = |r: &Row| (r.check.clone(), r.scope.clone());
    let mut out: Vec<Change> = new
        .iter()
        .map(|n| {
            let o = old.iter().find(|o| key(o) == key(n));
            let movement = match (o.and_then(|o| o.status), n.status) {
                _ if o.is_none() => Movement::New,
                (Some(a), Some(b)) if b > a => Movement::Worse,
                (Some(a), Some(b)) if b < a => Movement::Better,
                _ => by_value(&n.check, o.and_then(|o| o.value), n.value, tolerance),
            };
            let old_value = o.and_then(|o| o.value);
            Change {
                check: n.check.clone(),
                scope: n.scope.clone(),
                old_status: o.and_then(|o| o.status),
                new_status: n.status,
                old_value,
                new_value: n.value,
                delta: old_value.zip(n.value).map(|(a, b)| b - a),
                movement,
            }
        })
        .collect();
    out.extend(
        old.iter()
            .filter(|o| !new.iter().any(|n| key(n) == key(o)))
            .map(|o| Change {
                check: o.check.clone(),
                scope: o.scope.clone(),
                old_status: o.status,
                new_status: None,
                old_value: o.value,
                new_value: None,
                delta: None,
                movement: Movement::Gone,
            }),
    );
    out
}

/// Whether any check got worse, or disappeared: a check the new report no longer makes is not
/// a check that holds.
pub fn any_worse(changes: &[Change]) -> bool {
    changes
        .iter()
        .any(|c| matches!(c.movement, Movement::Worse | Movement::Gone))
}

fn status(s: Option<Status>) -> &'static str {
    s.map_or("-", Status::as_str)
}

fn value(v: Option<f64>) -> String {
    v.map_or("-".into(), super::check_value)
}

fn delta(v: Option<f64>) -> String {
    v.map_or("-".into(), super::check_delta)
}

/// `27 checks: 1 worse, 2 better, 24 same, 0 new, 0 gone`.
pub fn tally(changes: &[Change]) -> String {
    let n = |m: Movement| changes.iter().filter(|c| c.movement == m).count();
    format!(
        "{} checks: {} worse, {} better, {} same, {} new, {} gone",
        changes.len(),
        n(Movement::Worse),
        n(Movement::Better),
        n(Movement::Same),
        n(Movement::New),
        n(Movement::Gone)
    )
}

/// The comparison as a terminal table.
pub fn terminal(changes: &[Change], old: &str, new: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "baseline {old} → {new}");
    let _ = writeln!(
        s,
        "{:<24} {:<12} {:<12} {:<12} {:>12} {:>12} {:>12}  change",
        "check", "scope", "old status", "new status", "old value", "new value", "delta"
    );
    for c in changes {
        let _ = writeln!(
            s,
            "{:<24} {:<12} {:<12} {:<12} {:>12} {:>12} {:>12}  {}",
            c.check,
            c.scope,
            status(c.old_status),
            status(c.new_status),
            value(c.old_value),
            value(c.new_value),
            delta(c.delta),
            c.movement.as_str()
        );
    }
    let _ = writeln!(s, "\n{}", tally(changes));
    s
}

/// The comparison as a Markdown section.
pub fn markdown(changes: &[Change], old: &str, new: &str) -> String {
    let cell = super::markdown::cell;
    let mut s = String::new();
    let _ = writeln!(s, "## Against the baseline\n");
    let _ = writeln!(s, "`{}` → `{}`\n", cell(old), cell(new));
    let _ = writeln!(
        s,
        "| check | scope | old status | new status | old value | new value | delta | change |"
    );
    let _ = writeln!(s, "|---|---|---|---|--:|--:|--:|---|");
    for c in changes {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            cell(&c.check),
            cell(&c.scope),
            status(c.old_status),
            status(c.new_status),
            value(c.old_value),
            value(c.new_value),
            delta(c.delta),
            match c.movement {
                Movement::Worse => "**worse**",
                m => m.as_str(),
            }
        );
    }
    let _ = writeln!(s, "\n{}", tally(changes));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_pair_by_check_and_scope_and_say_which_way() {
        let old = [
            Row::new("a", "load", Some(Status::Pass), Some(1.0)),
            Row::new("b", "load", Some(Status::Degraded), Some(5.0)),
            Row::new("c", "load", Some(Status::Pass), None),
        ];
        let new = [
            Row::new("b", "load", Some(Status::Pass), Some(2.0)),
            Row::new("a", "load", Some(Status::Fail), Some(1.5)),
            Row::new("d", "load", Some(Status::Pass), None),
        ];
        let c = compare(&old, &new, DEFAULT_TOLERANCE);
        let moves: Vec<_> = c.iter().map(|c| (c.check.as_str(), c.movement)).collect();
        assert_eq!(
            moves,
            [
                ("b", Movement::Better),
                ("a", Movement::Worse),
                ("d", Movement::New),
                ("c", Movement::Gone)
            ]
        );
        assert_eq!(c[0].delta, Some(-3.0));
    }

    /// `capacity_spans_per_sec 3200053 → 1600082` was "same", with the status unchanged.
    #[test]
    fn a_halved_capacity_is_worse_and_a_small_change_the_same() {
        let capacity = |v: f64| [Row::new("capacity_spans_per_sec", "result", None, Some(v))];
        let halved = compare(&capacity(3_200_053.0), &capacity(1_600_082.0), 0.05);
        assert_eq!(halved[0].movement, Movement::Worse);
        assert!(any_worse(&halved));
        let close = compare(&capacity(3_200_053.0), &capacity(3_100_000.0), 0.05);
        assert_eq!(close[0].movement, Movement::Same);
        let loose = compare(&capacity(3_200_053.0), &capacity(1_600_082.0), 0.6);
        assert_eq!(loose[0].movement, Movement::Same);
        let slower = compare(&delay(1000.0), &delay(1200.0), 0.05);
        assert_eq!(slower[0].movement, Movement::Worse);
        let faster = compare(&delay(1000.0), &delay(800.0), 0.05);
        assert_eq!(faster[0].movement, Movement::Better);
    }

    /// A load-phase freshness row of `v` ms (lower is better).
    fn delay(v: f64) -> [Row; 1] {
        [Row::new(
            "freshness_p99_ms",
            "load",
            Some(Status::Pass),
            Some(v),
        )]
    }

    // Regression (issue 28, point 12): a capacity that became none, a check that disappeared and
    // a move from a baseline of 0 all read as "same", so `--fail-on-worse` passed them.
    #[test]
    fn no_capacity_a_gone_check_and_a_rise_from_zero_are_worse() {
        let capacity = |v: Option<f64>| [Row::new("capacity_spans_per_sec", "result", None, v)];
        let none = compare(&capacity(Some(50_000.0)), &capacity(None), 0.05);
        assert_eq!(none[0].movement, Movement::Worse);
        let gone = compare(
            &[Row::new("trace_content", "load", Some(Status::Pass), None)],
            &[],
            0.05,
        );
        assert!(any_worse(&gone), "{gone:?}");
        assert_eq!(
            compare(&delay(0.0), &delay(900.0), 0.05)[0].movement,
            Movement::Worse
        );
        assert_eq!(
            compare(&delay(0.0), &delay(0.0), 0.05)[0].movement,
            Movement::Same
        );
        assert_eq!(
            compare(&capacity(Some(0.0)), &capacity(Some(9.0)), 0.05)[0].movement,
            Movement::Better
        );
    }
}
