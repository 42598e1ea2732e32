//! The HTML page of a `run` report: the verdict, then timelines across the phases (offered vs
//! achieved load, sentinel freshness p99, traces expected/verified/missing, error bursts against
//! alert firing), the phase table and the checks table.

use std::fmt::Write as _;

use super::svg::Chart;
use super::{checks_table, escape, num, page, status_class, warnings};
use crate::report::human_rate;
use crate::report::run::RunReport;
use crate::run::timeline::Sample;

/// Renders the page.
pub fn render(r: &RunReport) -> String {
    let mut body = String::new();
    let bad: Vec<String> = r
        .checks
        .iter()
        .filter(|c| c.status != crate::verify::status::Status::Pass)
        .map(|c| format!("{} in {} ({})", c.name, c.phase, c.status.as_str()))
        .collect();
    if !bad.is_empty() {
        let _ = writeln!(body, "<p id=\"why\">{}</p>", escape(&bad.join(", ")));
    }
    body.push_str("<h2>Timeline</h2>\n");
    if r.timeline.samples.is_empty() {
        body.push_str("<p>This report has no timeline (it was written before timelines were recorded, or the run stopped before its first second).</p>\n");
    } else {
        body.push_str(&load_chart(r));
        body.push_str(&freshness_chart(r));
        body.push_str(&traces_chart(r));
        body.push_str(&alerts_chart(r));
    }
    body.push_str("<h2>Phases</h2>\n");
    body.push_str(&phase_table(r));
    body.push_str("<h2>Checks</h2>\n");
    body.push_str(&checks_table("checks", &r.checks));
    body.push_str(&warnings(&r.warnings));
    let meta = format!(
        "target {} | seed {} | profile {}",
        r.target_line(),
        r.seed,
        r.profile.as_deref().unwrap_or("-")
    );
    page(
        "span-sentinel run",
        status_class(r.verdict),
        &format!("verdict: {}", r.verdict.as_str()),
        &meta,
        &body,
    )
}

/// The end of the last phase, or of the timeline if it runs longer.
fn span_s(r: &RunReport) -> f64 {
    let phases: f64 = r.phases.iter().map(|p| p.duration_s).sum();
    let last = r.timeline.samples.last().map_or(0.0, |s| s.t_s);
    phases.max(last)
}

/// Shades load phases and marks every phase start on `chart`, over the y range `y`.
fn phases(chart: &mut Chart, r: &RunReport, y: (f64, f64)) {
    let mut at = 0.0;
    for p in &r.phases {
        if p.kind == "load" {
            chart.band(at, at + p.duration_s, y, "phase-load", &p.name);
        }
        chart.marker(at, &p.name);
        at += p.duration_s;
    }
}

fn series(samples: &[Sample], f: impl Fn(&Sample) -> Option<f64>) -> Vec<(f64, Option<f64>)> {
    samples.iter().map(|s| (s.t_s, f(s))).collect()
}

fn max_of(points: &[(f64, Option<f64>)]) -> f64 {
    points.iter().filter_map(|p| p.1).fold(0.0, f64::max)
}

fn load_chart(r: &RunReport) -> String {
    let s = &r.timeline.samples;
    let offered = series(s, |s| s.offered_spans_per_sec);
    let achieved = series(s, |s| Some(s.achieved_spans_per_sec));
    let top = max_of(&offered).max(max_of(&achieved)) * 1.1;
    let mut c = Chart::new(
        "chart-load",
        "unruly load, spans/s (offered vs achieved)",
        220.0,
        (0.0, span_s(r)),
        (0.0, top),
    );
    phases(&mut c, r, (0.0, top.max(1.0)));
    c.line(&offered, "offered", false);
    c.line(&achieved, "achieved", true);
    c.legend("offered", "offered");
    c.legend("achieved", "achieved");
    c.finish(true)
}

fn freshness_chart(r: &RunReport) -> String {
    let points = series(&r.timeline.samples, |s| s.freshness_p99_ms);
    let top = max_of(&points) * 1.1;
    let mut c = Chart::new(
        "chart-freshness",
        "sentinel freshness p99 of traces found each second, ms",
        200.0,
        (0.0, span_s(r)),
        (0.0, top),
    );
    phases(&mut c, r, (0.0, top.max(1.0)));
    c.line(&points, "freshness", true);
    c.legend("freshness p99", "freshness");
    c.finish(true)
}

fn traces_chart(r: &RunReport) -> String {
    let s = &r.timeline.samples;
    let expected = series(s, |s| Some(s.traces_expected as f64));
    let verified = series(s, |s| Some(s.traces_verified as f64));
    let missing = series(s, |s| Some(s.traces_missing as f64));
    let top = max_of(&expected).max(1.0) * 1.05;
    let last = s.last().map_or(String::new(), |l| {
        format!(
            " — at the end {} of {} verified",
            l.traces_verified, l.traces_expected
        )
    });
    let mut c = Chart::new(
        "chart-traces",
        &format!("trace completeness: traces expected, verified and missing so far{last}"),
        200.0,
        (0.0, span_s(r)),
        (0.0, top),
    );
    phases(&mut c, r, (0.0, top));
    c.line(&expected, "expected", false);
    c.line(&verified, "verified", false);
    c.line(&missing, "missing", false);
    c.legend("expected", "expected");
    c.legend("verified", "verified");
    c.legend("missing", "missing");
    c.finish(true)
}

fn alerts_chart(r: &RunReport) -> String {
    let t = &r.timeline;
    let mut c = Chart::new(
        "chart-alerts",
        "error bursts against the alert's firing intervals",
        150.0,
        (0.0, span_s(r)),
        (0.0, 2.4),
    );
    // The lanes stop below 2.4 so the phase names above them stay readable.
    phases(&mut c, r, (0.0, 2.4));
    for b in &t.bursts {
        let tip = format!("burst {:.1}–{:.1} s", b.start_s, b.end_s);
        c.band(b.start_s, b.end_s, (1.1, 1.9), "burst", &tip);
    }
    for f in &t.alert_firing {
        let tip = format!("alert firing {:.1}–{:.1} s", f.start_s, f.end_s);
        c.band(f.start_s, f.end_s, (0.1, 0.9), "firing", &tip);
    }
    c.text(0.05, 1.45, "bursts");
    c.text(0.05, 0.45, "alert firing");
    c.legend("error burst", "burst");
    c.legend("alert firing", "firing");
    c.finish(false)
}

fn phase_table(r: &RunReport) -> String {
    let mut s = String::from(
        "<table id=\"phases\"><tr><th>phase</th><th>kind</th><th>s</th><th>offered/s</th>\
         <th>achieved/s</th><th>acked</th><th>rejected</th><th>traces expected</th>\
         <th>verified</th><th>missing</th><th>unexpected</th><th>fresh p99 ms</th>\
         <th>bursts detected</th></tr>\n",
    );
    for p in &r.phases {
        let (l, t) = (&p.load, &p.sentinel);
        let _ = writeln!(
            s,
            "<tr><td>{}</td><td>{}</td><td class=\"num\">{:.0}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}/{}</td></tr>",
            escape(&p.name),
            escape(&p.kind),
            p.duration_s,
            l.offered_spans_per_sec.map_or("max".into(), human_rate),
            human_rate(l.achieved_spans_per_sec),
            l.acked_spans,
            l.rejected_spans,
            t.traces_expected_assembled,
            t.traces_verified,
            t.traces_missing,
            t.traces_unexpected,
            num(t.freshness_ms.map(|f| f.p99)),
            t.alerts.detected,
            t.alerts.bursts,
        );
    }
    s.push_str("</table>\n");
    s
}
