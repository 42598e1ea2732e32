//! The HTML report (`--html FILE` on `run`, `capacity` and `fidelity`, and `report --html`):
//! one self-contained file — inline CSS and SVG generated here, no JavaScript, no fetches — so
//! it can be attached to a release ticket or opened offline years later.
//!
//! Each report kind has its own module laying out its charts; [`svg`] draws them and this
//! module holds the page frame, the verdict banner and the tables they share.

pub mod capacity;
pub mod fidelity;
pub mod run;
pub mod svg;

use std::fmt::Write as _;

use super::compare::Change;
use crate::verify::checks::Check;
use crate::verify::status::Status;

/// Escapes text for HTML and SVG content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = r#"
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 960px; color: #222; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; }
.meta { color: #555; margin-bottom: 12px; }
.verdict { display: inline-block; padding: 6px 14px; border-radius: 6px; font-weight: 600; color: #fff; }
.verdict.pass, td.pass { background: #2e7d32; } .verdict.degraded, td.degraded { background: #ef6c00; }
.verdict.fail, td.fail { background: #c62828; } .verdict.inconclusive, td.inconclusive { background: #757575; }
td.pass, td.degraded, td.fail, td.inconclusive { color: #fff; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { border: 1px solid #ddd; padding: 3px 6px; text-align: left; vertical-align: top; }
th { background: #f4f4f4; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
ul.warnings li { color: #8a4b00; }
svg.chart { display: block; margin: 6px 0 14px; background: #fff; }
svg .title { font-weight: 600; font-size: 13px; } svg .tick, svg .legend, svg .lane { font-size: 11px; fill: #444; }
svg .axis { stroke: #444; } svg .grid { stroke: #eee; } svg .marker { stroke: #999; stroke-dasharray: 3 3; }
svg .marker-label { font-size: 10px; fill: #777; }
svg .offered { stroke: #1565c0; stroke-width: 1.5; stroke-dasharray: 5 3; } svg .offered.swatch, svg .offered.dot { fill: #1565c0; }
svg .achieved { stroke: #2e7d32; stroke-width: 2; } svg .achieved.swatch, svg .achieved.dot { fill: #2e7d32; }
svg .freshness { stroke: #6a1b9a; stroke-width: 2; } svg .freshness.swatch, svg .freshness.dot { fill: #6a1b9a; }
svg .expected { stroke: #1565c0; stroke-width: 1.5; stroke-dasharray: 5 3; } svg .expected.swatch { fill: #1565c0; }
svg .verified { stroke: #2e7d32; stroke-width: 2; } svg .verified.swatch { fill: #2e7d32; }
svg .missing { stroke: #c62828; stroke-width: 2; } svg .missing.swatch { fill: #c62828; }
svg .burst { fill: #c62828; opacity: .55; } svg .firing { fill: #ef6c00; opacity: .75; }
svg .phase-load { fill: #fff3e0; } svg .limit { stroke: #c62828; stroke-dasharray: 6 4; }
svg .swatch { stroke: none; } svg .bar-offered { fill: #90caf9; } svg .status-pass { fill: #2e7d32; } svg .status-degraded { fill: #ef6c00; }
svg .status-fail { fill: #c62828; } svg .status-inconclusive { fill: #757575; }
"#;

/// A whole page: `title`, the verdict banner (`verdict` is a status name or free text drawn in
/// class `class`), a meta line, then `body`.
pub fn page(title: &str, class: &str, verdict: &str, meta: &str, body: &str) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body>\n",
        escape(title)
    );
    let _ = writeln!(s, "<h1>{}</h1>", escape(title));
    let _ = writeln!(
        s,
        "<div id=\"verdict\" class=\"verdict {}\">{}</div>",
        escape(class),
        escape(verdict)
    );
    let _ = writeln!(s, "<div class=\"meta\">{}</div>", escape(meta));
    s.push_str(body);
    s.push_str(PAGE_END);
    s
}

const PAGE_END: &str = "\n</body></html>\n";

/// `page` (as [`page`] wrote it) with `section` added at the end of its body.
pub fn append_section(page: &str, section: &str) -> String {
    let body = page.strip_suffix(PAGE_END).unwrap_or(page);
    format!("{body}{section}{PAGE_END}")
}

/// The `--baseline` comparison: every check's old and new status and value, and the delta.
pub fn comparison(changes: &[Change], old: &str, new: &str) -> String {
    let mut s = format!(
        "<h2>Against the baseline</h2>\n<p>{} → {}</p>\n<table id=\"baseline\"><tr><th>check</th>\
         <th>scope</th><th>old status</th><th>new status</th><th>old value</th><th>new value</th>\
         <th>delta</th><th>change</th></tr>\n",
        escape(old),
        escape(new)
    );
    let st = |s: Option<Status>| s.map_or("-", Status::as_str);
    for c in changes {
        let _ = writeln!(
            s,
            "<tr><td>{}</td><td>{}</td><td class=\"{o}\">{o}</td><td class=\"{n}\">{n}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            escape(&c.check),
            escape(&c.scope),
            num(c.old_value),
            num(c.new_value),
            c.delta.map_or("-".into(), crate::report::check_delta),
            c.movement.as_str(),
            o = st(c.old_status),
            n = st(c.new_status),
        );
    }
    s.push_str("</table>\n");
    s
}

/// A number cell, `-` when absent.
pub fn num(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| {
        if v.abs() >= 1000.0 || v == v.round() {
            format!("{v:.0}")
        } else {
            crate::report::check_value(v)
        }
    })
}

/// The table of checks: name, phase, status (coloured), baseline, observed, tolerance,
/// evidence.
pub fn checks_table(id: &str, checks: &[Check]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<table id=\"{id}\"><tr><th>check</th><th>phase</th><th>status</th><th>baseline</th>\
         <th>observed</th><th>tolerance</th><th>evidence</th></tr>"
    );
    for c in checks {
        let _ = writeln!(
            s,
            "<tr><td>{}</td><td>{}</td><td class=\"{st}\">{st}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>",
            escape(&c.name),
            escape(&c.phase),
            num(c.baseline),
            num(c.observed),
            escape(&c.tolerance),
            escape(&c.evidence),
            st = c.status.as_str(),
        );
    }
    s.push_str("</table>\n");
    s
}

/// The list of warnings, if any.
pub fn warnings(list: &[String]) -> String {
    if list.is_empty() {
        return String::new();
    }
    let mut s = String::from("<h2>Warnings</h2><ul class=\"warnings\">");
    for w in list {
        let _ = write!(s, "<li>{}</li>", escape(w));
    }
    s.push_str("</ul>\n");
    s
}

/// The CSS class of a status.
pub fn status_class(s: Status) -> &'static str {
    s.as_str()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_markup_and_quotes() {
        assert_eq!(
            escape(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
