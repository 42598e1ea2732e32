//! The HTML page of a `fidelity` report: the largest relative error against what is allowed,
//! the relative error by quantile for every distribution, then the full table.

use std::fmt::Write as _;

use super::svg::Chart;
use super::{escape, page, warnings};
use crate::fidelity::DistributionResult;
use crate::report::fidelity::{FidelityReport, quantile_name};
use crate::verify::histograms::QUANTILES;

/// Renders the page.
pub fn render(r: &FidelityReport) -> String {
    let mut body = String::new();
    if !r.schemes.is_empty() {
        body.push_str("<h2>Schemes: relative error by quantile</h2>\n");
        body.push_str(&schemes_chart(r));
        body.push_str(&schemes_table(r));
    }
    body.push_str("<h2>Relative error by quantile</h2>\n");
    body.push_str(&errors_chart(r));
    body.push_str("<h2>Quantiles</h2>\n");
    body.push_str(&table(r));
    body.push_str(&warnings(&r.warnings));
    let (class, verdict) = match (r.allowed_rel_error, r.within_allowed) {
        (Some(a), Some(true)) => (
            "pass",
            format!("max relative error {:.6} within {a}", r.max_rel_error),
        ),
        (Some(a), Some(false)) => (
            "fail",
            format!("max relative error {:.6} EXCEEDS {a}", r.max_rel_error),
        ),
        _ => (
            "inconclusive",
            format!(
                "max relative error {:.6} (no allowed error given)",
                r.max_rel_error
            ),
        ),
    };
    let digits = r.histogram_digits.map_or("external target".into(), |d| {
        format!("{d} significant digits")
    });
    let meta = format!("target {} ({digits}) | seed {}", r.target, r.seed);
    page("span-sentinel fidelity", class, &verdict, &meta, &body)
}

fn errors_chart(r: &FidelityReport) -> String {
    let qs: Vec<f64> = r
        .distributions
        .first()
        .map(|d| d.quantiles.iter().map(|q| q.q).collect())
        .unwrap_or_default();
    let top = r
        .distributions
        .iter()
        .flat_map(|d| d.quantiles.iter().map(|q| q.rel_error))
        .chain(r.allowed_rel_error)
        .fold(0.0, f64::max)
        * 1.15;
    let height = 240.0 + 16.0 * (r.distributions.len() / 4) as f64;
    let mut c = Chart::new(
        "chart-fidelity",
        "relative error of each reported quantile, per distribution",
        height,
        (0.0, qs.len().max(1) as f64),
        (0.0, top),
    )
    .without_x_ticks();
    for (i, q) in qs.iter().enumerate() {
        c.x_label(i as f64 + 0.5, &quantile_name(*q));
    }
    let n = r.distributions.len().max(1) as f64;
    let width = 0.8 / n;
    for (k, d) in r.distributions.iter().enumerate() {
        for (i, q) in d.quantiles.iter().enumerate() {
            let x = i as f64 + 0.1 + width * (k as f64 + 0.5);
            let tip = format!(
                "{} {}: exact {} ns, reported {} ns, rel error {:.6}",
                d.name,
                quantile_name(q.q),
                q.expected,
                q.reported,
                q.rel_error
            );
            c.bar(
                x,
                width * 0.9,
                q.rel_error,
                &format!("dist-{}", k % 10),
                &tip,
            );
        }
    }
    if let Some(a) = r.allowed_rel_error {
        c.hline(a, "limit", &format!("allowed {a}"));
    }
    let mut s = c.finish(true);
    // The distributions' legend goes under the chart: there are too many for the title line.
    let mut legend = String::from("<p class=\"legend\" id=\"fidelity-legend\">");
    for (k, d) in r.distributions.iter().enumerate() {
        let _ = write!(
            legend,
            "<span class=\"dist-{}\">■</span> {} &nbsp; ",
            k % 10,
            escape(&d.name)
        );
    }
    legend.push_str("</p>\n");
    s.push_str(&legend);
    s.push_str(DIST_STYLE);
    s
}

const DIST_STYLE: &str = "<style>.dist-0{fill:#1565c0;color:#1565c0}.dist-1{fill:#2e7d32;color:#2e7d32}\
.dist-2{fill:#c62828;color:#c62828}.dist-3{fill:#6a1b9a;color:#6a1b9a}.dist-4{fill:#ef6c00;color:#ef6c00}\
.dist-5{fill:#00838f;color:#00838f}.dist-6{fill:#5d4037;color:#5d4037}.dist-7{fill:#ad1457;color:#ad1457}\
.dist-8{fill:#9e9d24;color:#9e9d24}.dist-9{fill:#455a64;color:#455a64}</style>\n";

fn table(r: &FidelityReport) -> String {
    let mut s = String::from(
        "<table id=\"quantiles\"><tr><th>distribution</th><th>count</th><th>q</th><th>exact ns</th>\
         <th>reported ns</th><th>abs error ns</th><th>rel error</th></tr>\n",
    );
    let over = |e: f64| r.allowed_rel_error.is_some_and(|a| e > a);
    for d in &r.distributions {
        for q in &d.quantiles {
            let _ = writeln!(
                s,
                "<tr><td>{}</td><td class=\"num\">{}</td><td>{}</td><td class=\"num\">{}</td>\
                 <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num {}\">{:.6}</td></tr>",
                escape(&d.name),
                d.count,
                quantile_name(q.q),
                q.expected,
                q.reported,
                q.abs_error,
                if over(q.rel_error) { "fail" } else { "" },
                q.rel_error
            );
        }
    }
    s.push_str("</table>\n");
    s
}

/// The columns of the schemes table: the target, then every scheme.
fn columns(r: &FidelityReport) -> Vec<(&str, &[DistributionResult])> {
    std::iter::once(("target", r.distributions.as_slice()))
        .chain(
            r.schemes
                .iter()
                .map(|x| (x.scheme.as_str(), x.distributions.as_slice())),
        )
        .collect()
}

/// The largest relative error of `ds` at quantile `q` (`None`: not reported anywhere).
fn worst_at(ds: &[DistributionResult], q: f64) -> Option<f64> {
    ds.iter()
        .flat_map(|d| d.quantiles.iter().filter(|x| x.q == q))
        .map(|x| x.rel_error)
        .reduce(f64::max)
}

/// Lowest decade drawn: errors below 10^-6 (and exact answers) sit on the floor.
const FLOOR: f64 = -6.0;

/// One line per scheme: log10 of its largest relative error over the distributions, per quantile.
fn schemes_chart(r: &FidelityReport) -> String {
    let qs = QUANTILES;
    let cols = columns(r);
    let log = |e: f64| if e > 0.0 { e.log10().max(FLOOR) } else { FLOOR };
    let top = cols
        .iter()
        .flat_map(|(_, ds)| qs.iter().filter_map(|&q| worst_at(ds, q)))
        .map(log)
        .fold(0.0, f64::max)
        .ceil();
    let mut c = Chart::new(
        "chart-schemes",
        "log10 of the largest relative error over the distributions (−2 = 1%)",
        300.0,
        (0.0, (qs.len() - 1) as f64),
        (FLOOR, top.max(0.0)),
    )
    .without_x_ticks();
    for (i, q) in qs.iter().enumerate() {
        c.x_label(i as f64, &quantile_name(*q));
    }
    if let Some(a) = r.allowed_rel_error.filter(|a| *a > 0.0) {
        c.hline(a.log10(), "limit", &format!("allowed {a}"));
    }
    for (k, (name, ds)) in cols.iter().enumerate() {
        let points: Vec<(f64, Option<f64>)> = qs
            .iter()
            .enumerate()
            .map(|(i, &q)| (i as f64, worst_at(ds, q).map(log)))
            .collect();
        let class = format!("dist-{}", k % 10);
        c.line(&points, &format!("{class} scheme-line"), true);
        c.legend(name, &class);
    }
    let mut s = c.finish(true);
    s.push_str("<style>.scheme-line{stroke-width:2}polyline.dist-0,polyline.dist-1,polyline.dist-2,\
polyline.dist-3,polyline.dist-4,polyline.dist-5,polyline.dist-6,polyline.dist-7{stroke:currentColor}</style>\n");
    s
}

/// Relative error per distribution and quantile, one column per scheme, and bytes per series.
fn schemes_table(r: &FidelityReport) -> String {
    let cols = columns(r);
    let mut s =
        String::from("<table id=\"schemes\"><tr><th>distribution</th><th>q</th><th>exact ns</th>");
    for (name, _) in &cols {
        let _ = write!(s, "<th>{}</th>", escape(name));
    }
    s.push_str("</tr>\n");
    let over = |e: f64| r.allowed_rel_error.is_some_and(|a| e > a);
    for d in &r.distributions {
        for q in &d.quantiles {
            let _ = write!(
                s,
                "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td>",
                escape(&d.name),
                quantile_name(q.q),
                q.expected
            );
            for (_, ds) in &cols {
                let cell = ds
                    .iter()
                    .find(|x| x.name == d.name)
                    .and_then(|x| x.quantiles.iter().find(|y| y.q == q.q));
                match cell {
                    Some(y) => {
                        let class = if over(y.rel_error) { "fail" } else { "" };
                        let tip = format!("reported {} ns", y.reported);
                        let _ = write!(
                            s,
                            "<td class=\"num {class}\" title=\"{tip}\">{:.4}</td>",
                            y.rel_error
                        );
                    }
                    None => s.push_str("<td>-</td>"),
                }
            }
            s.push_str("</tr>\n");
        }
    }
    s.push_str("<tr><td colspan=\"3\">bytes per series (largest)</td><td>-</td>");
    for x in &r.schemes {
        let b = x.max_memory_bytes.map_or("-".into(), |b| b.to_string());
        let _ = write!(s, "<td class=\"num\">{b}</td>");
    }
    s.push_str("</tr>\n</table>\n");
    s
}

#[cfg(test)]
mod tests {
    use crate::report::fidelity::quantile_name;

    #[test]
    fn quantiles_have_short_names() {
        assert_eq!(quantile_name(0.5), "p50");
        assert_eq!(quantile_name(0.999), "p99.9");
        assert_eq!(quantile_name(1.0), "max");
    }
}
