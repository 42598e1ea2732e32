//! The Markdown renderings of saved reports (`report FILE.json --markdown`): what a release
//! ticket or a pull-request comment carries — the verdict first, then the tables.

use std::fmt::Write as _;

use super::capacity::CapacityReport;
use super::fidelity::FidelityReport;
use super::human_rate;
use super::run::RunReport;
use crate::verify::checks::Check;
use crate::verify::status::Status;

/// Text safe inside a Markdown table cell: pipes escaped, line breaks flattened.
pub fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

fn num(v: Option<f64>) -> String {
    v.map_or("-".into(), super::check_value)
}

fn status(s: Status) -> String {
    match s {
        Status::Pass => "pass".into(),
        other => format!("**{}**", other.as_str()),
    }
}

fn checks_table(s: &mut String, checks: &[Check]) {
    let _ = writeln!(
        s,
        "| check | phase | status | baseline | observed | tolerance | evidence |"
    );
    let _ = writeln!(s, "|---|---|---|--:|--:|---|---|");
    for c in checks {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} |",
            cell(&c.name),
            cell(&c.phase),
            status(c.status),
            num(c.baseline),
            num(c.observed),
            cell(&c.tolerance),
            cell(&c.evidence)
        );
    }
}

fn warnings(s: &mut String, list: &[String]) {
    if !list.is_empty() {
        let _ = writeln!(s, "\n### Warnings\n");
        for w in list {
            let _ = writeln!(s, "- {}", cell(w));
        }
    }
}

/// A `run` report.
pub fn run(r: &RunReport) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# span-sentinel run: {}\n", status(r.verdict));
    let _ = writeln!(
        s,
        "target `{}` · seed {} · profile {}\n",
        cell(&r.target_line()),
        r.seed,
        r.profile
            .as_deref()
            .map_or("-".into(), |p| format!("`{}`", cell(p)))
    );
    let bad: Vec<String> = r
        .checks
        .iter()
        .filter(|c| matches!(c.status, Status::Degraded | Status::Fail))
        .map(|c| format!("`{}` in {} ({})", c.name, c.phase, c.status.as_str()))
        .collect();
    if !bad.is_empty() {
        let _ = writeln!(s, "Gave way: {}\n", bad.join(", "));
    }
    let _ = writeln!(s, "## Phases\n");
    let _ = writeln!(
        s,
        "| phase | kind | s | load/s | traces expected/sent | verified | missing | unexpected | fresh p99 ms | bursts detected |"
    );
    let _ = writeln!(s, "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|");
    for p in &r.phases {
        let t = &p.sentinel;
        let _ = writeln!(
            s,
            "| {} | {} | {:.0} | {} | {}/{} | {} | {} | {} | {} | {}/{} |",
            cell(&p.name),
            cell(&p.kind),
            p.duration_s,
            human_rate(p.load.achieved_spans_per_sec),
            t.traces_expected_assembled,
            t.traces_sent,
            t.traces_verified,
            t.traces_missing,
            t.traces_unexpected,
            t.freshness_ms
                .map_or("-".into(), |f| format!("{:.0}", f.p99)),
            t.alerts.detected,
            t.alerts.bursts
        );
    }
    let _ = writeln!(s, "\n## Checks\n");
    checks_table(&mut s, &r.checks);
    warnings(&mut s, &r.warnings);
    s
}

/// A `capacity` report.
pub fn capacity(r: &CapacityReport) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# span-sentinel capacity\n");
    for line in r.conclusion().lines() {
        let _ = writeln!(s, "**{}**  ", cell(line));
    }
    let _ = writeln!(
        s,
        "\ntarget `{}` · seed {} · profile {} · {}\n",
        cell(&r.target),
        r.seed,
        r.profile
            .as_deref()
            .map_or("-".into(), |p| format!("`{}`", cell(p))),
        if r.finished { "finished" } else { "partial" }
    );
    let _ = writeln!(s, "## Steps\n");
    let _ = writeln!(
        s,
        "| step | offered/s | achieved/s | acked | rejected | status | gave way |"
    );
    let _ = writeln!(s, "|---|--:|--:|--:|--:|---|---|");
    for st in &r.steps {
        let gave = st.gave_way();
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {}{} |",
            cell(&st.phase),
            human_rate(st.offered_spans_per_sec),
            human_rate(st.achieved_spans_per_sec),
            st.acked_spans,
            st.rejected_spans,
            status(st.status),
            cell(&gave),
            if st.generator_limited {
                " (generator-limited)"
            } else {
                ""
            }
        );
    }
    let _ = writeln!(s, "\n## Baseline checks\n");
    checks_table(&mut s, &r.baseline);
    warnings(&mut s, &r.warnings);
    s
}

/// A `fidelity` report.
pub fn fidelity(r: &FidelityReport) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# span-sentinel fidelity\n");
    let _ = write!(s, "**max relative error {:.6}**", r.max_rel_error);
    match (r.allowed_rel_error, r.within_allowed) {
        (Some(a), Some(ok)) => {
            let verdict = if ok { "within" } else { "**EXCEEDED**" };
            let _ = write!(s, " (allowed {a}: {verdict})");
        }
        _ => {
            let _ = write!(s, " (**not judged**: no allowed error)");
        }
    }
    let digits = r.histogram_digits.map_or("external target".into(), |d| {
        format!("{d} significant digits")
    });
    let _ = writeln!(
        s,
        "\n\ntarget `{}` ({digits}) · seed {}\n",
        cell(&r.target),
        r.seed
    );
    let _ = writeln!(
        s,
        "| distribution | count | q | exact ns | reported ns | abs error ns | rel error |"
    );
    let _ = writeln!(s, "|---|--:|---|--:|--:|--:|--:|");
    for d in &r.distributions {
        for q in &d.quantiles {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {:.6} |",
                cell(&d.name),
                d.count,
                super::fidelity::quantile_name(q.q),
                q.expected,
                q.reported,
                q.abs_error,
                q.rel_error
            );
        }
    }
    warnings(&mut s, &r.warnings);
    s
}

#[cfg(test)]
mod tests {
    use super::cell;

    #[test]
    fn cells_escape_pipes_and_newlines() {
        assert_eq!(cell("a|b\nc"), "a\\|b c");
    }
}
