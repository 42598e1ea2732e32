//! The HTML page of a `capacity` report: the conclusion on top, the steps as offered vs achieved
//! bars (achieved coloured by the step's status), then the steps' table and the baseline checks.

use std::fmt::Write as _;

use super::svg::Chart;
use super::{checks_table, escape, page, status_class, warnings};
use crate::report::capacity::CapacityReport;
use crate::report::human_rate;
use crate::verify::status::Status;

/// Renders the page.
pub fn render(r: &CapacityReport) -> String {
    let mut body = String::new();
    body.push_str("<h2>Steps</h2>\n");
    body.push_str(&steps_chart(r));
    body.push_str(&steps_table(r));
    body.push_str("<h2>Baseline checks</h2>\n");
    body.push_str(&checks_table("checks", &r.baseline));
    body.push_str(&warnings(&r.warnings));
    let status = if matches!(
        r.result.end,
        crate::capacity::End::BaselineFailed | crate::capacity::End::LoadError
    ) || r.require_met == Some(false)
    {
        Status::Fail
    } else {
        Status::Pass
    };
    let conclusion = r.conclusion().replace('\n', " — ");
    let meta = format!(
        "target {} | seed {} | profile {} | {}",
        r.target,
        r.seed,
        r.profile.as_deref().unwrap_or("-"),
        if r.finished {
            "finished"
        } else {
            "partial (the search was still going)"
        }
    );
    page(
        "span-sentinel capacity",
        status_class(status),
        &conclusion,
        &meta,
        &body,
    )
}

fn steps_chart(r: &CapacityReport) -> String {
    let top = r
        .steps
        .iter()
        .map(|s| s.offered_spans_per_sec.max(s.achieved_spans_per_sec))
        .fold(0.0, f64::max)
        * 1.1;
    let n = r.steps.len().max(1) as f64;
    let mut c = Chart::new(
        "chart-steps",
        "capacity steps: offered vs achieved spans/s (achieved coloured by status)",
        260.0,
        (0.0, n),
        (0.0, top),
    )
    .without_x_ticks();
    for (i, st) in r.steps.iter().enumerate() {
        let x = i as f64 + 0.5;
        let tip = |what: &str, v: f64| format!("{} {what} {} spans/s", st.phase, human_rate(v));
        c.bar(
            x - 0.17,
            0.3,
            st.offered_spans_per_sec,
            "bar-offered",
            &tip("offered", st.offered_spans_per_sec),
        );
        c.bar(
            x + 0.17,
            0.3,
            st.achieved_spans_per_sec,
            &format!("status-{}", st.status.as_str()),
            &format!(
                "{} ({})",
                tip("achieved", st.achieved_spans_per_sec),
                st.status.as_str()
            ),
        );
        c.x_label(x, &st.phase);
    }
    if let Some(cap) = r.result.max_sustainable_spans_per_sec {
        c.hline(
            cap,
            "limit",
            &format!("max sustainable {} spans/s", human_rate(cap)),
        );
    }
    c.legend("offered", "bar-offered");
    for s in [
        Status::Pass,
        Status::Degraded,
        Status::Fail,
        Status::Inconclusive,
    ] {
        c.legend(s.as_str(), &format!("status-{}", s.as_str()));
    }
    c.finish(true)
}

fn steps_table(r: &CapacityReport) -> String {
    let mut s = String::from(
        "<table id=\"steps\"><tr><th>step</th><th>offered/s</th><th>achieved/s</th><th>acked</th>\
         <th>rejected</th><th>status</th><th>gave way</th></tr>\n",
    );
    for st in &r.steps {
        let gave = st.gave_way();
        let _ = writeln!(
            s,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"{st_}\">{st_}</td><td>{}{}</td></tr>",
            escape(&st.phase),
            human_rate(st.offered_spans_per_sec),
            human_rate(st.achieved_spans_per_sec),
            st.acked_spans,
            st.rejected_spans,
            escape(&gave),
            if st.generator_limited {
                " (generator-limited)"
            } else {
                ""
            },
            st_ = st.status.as_str(),
        );
    }
    s.push_str("</table>\n");
    s
}
