//! A tiny SVG chart writer: linear axes with ticks, lines with gaps, vertical bands, bars and
//! a legend — exactly what the HTML report draws, generated as text so the report needs no
//! JavaScript and no fetch to render.

use std::fmt::Write as _;

use super::escape;
use crate::report::human_rate;

const WIDTH: f64 = 900.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 34.0;

/// One chart under construction; every method appends an element.
pub struct Chart {
    id: String,
    title: String,
    height: f64,
    x: (f64, f64),
    y: (f64, f64),
    body: String,
    legend: Vec<(String, String)>,
    x_ticks: bool,
}

impl Chart {
    /// A chart `id` (the SVG element's id) titled `title`, `height` px tall, over the data
    /// ranges `x` and `y` (widened when empty).
    pub fn new(id: &str, title: &str, height: f64, x: (f64, f64), y: (f64, f64)) -> Self {
        let widen = |(a, b): (f64, f64)| if b > a { (a, b) } else { (a, a + 1.0) };
        Self {
            id: id.to_owned(),
            title: title.to_owned(),
            height,
            x: widen(x),
            y: widen(y),
            body: String::new(),
            legend: Vec::new(),
            x_ticks: true,
        }
    }

    /// Leaves out the numeric ticks of the x axis (for charts with category labels).
    pub fn without_x_ticks(mut self) -> Self {
        self.x_ticks = false;
        self
    }

    /// Horizontal pixel of data value `v`.
    pub fn px(&self, v: f64) -> f64 {
        LEFT + (v - self.x.0) / (self.x.1 - self.x.0) * (WIDTH - LEFT - RIGHT)
    }

    /// Vertical pixel of data value `v`.
    pub fn py(&self, v: f64) -> f64 {
        let plot = self.height - TOP - BOTTOM;
        TOP + plot - (v - self.y.0) / (self.y.1 - self.y.0) * plot
    }

    /// Adds a legend entry drawn in CSS class `class`.
    pub fn legend(&mut self, label: &str, class: &str) {
        self.legend.push((label.to_owned(), class.to_owned()));
    }

    /// A vertical band from `x0` to `x1` between the data values `y0` and `y1`.
    pub fn band(&mut self, x0: f64, x1: f64, (y0, y1): (f64, f64), class: &str, tip: &str) {
        let (a, b) = (self.px(x0), self.px(x1));
        let (top, bottom) = (self.py(y1), self.py(y0));
        let _ = write!(
            self.body,
            r#"<rect class="{class}" x="{a:.1}" y="{top:.1}" width="{:.1}" height="{:.1}"><title>{}</title></rect>"#,
            (b - a).max(1.0),
            (bottom - top).max(0.0),
            escape(tip)
        );
    }

    /// A vertical marker line at `x` with a label at the top.
    pub fn marker(&mut self, x: f64, label: &str) {
        let p = self.px(x);
        let _ = write!(
            self.body,
            r#"<line class="marker" x1="{p:.1}" x2="{p:.1}" y1="{TOP}" y2="{:.1}"/><text class="marker-label" x="{:.1}" y="{:.1}">{}</text>"#,
            self.height - BOTTOM,
            p + 3.0,
            TOP + 10.0,
            escape(label)
        );
    }

    /// A horizontal line at `y`.
    pub fn hline(&mut self, y: f64, class: &str, label: &str) {
        let p = self.py(y);
        let _ = write!(
            self.body,
            r#"<line class="{class}" x1="{LEFT}" x2="{:.1}" y1="{p:.1}" y2="{p:.1}"><title>{}</title></line>"#,
            WIDTH - RIGHT,
            escape(label)
        );
    }

    /// A polyline through `points`, broken where a value is missing; each point also gets a
    /// small dot when `dots`.
    pub fn line(&mut self, points: &[(f64, Option<f64>)], class: &str, dots: bool) {
        let mut run: Vec<String> = Vec::new();
        let flush = |run: &mut Vec<String>, body: &mut String| {
            if run.len() > 1 {
                let _ = write!(
                    body,
                    r#"<polyline class="{class}" fill="none" points="{}"/>"#,
                    run.join(" ")
                );
            }
            run.clear();
        };
        for &(x, y) in points {
            match y {
                Some(y) if y.is_finite() => {
                    let (px, py) = (self.px(x), self.py(y));
                    run.push(format!("{px:.1},{py:.1}"));
                    if dots {
                        let _ = write!(
                            self.body,
                            r#"<circle class="{class} dot" cx="{px:.1}" cy="{py:.1}" r="2.5"/>"#
                        );
                    }
                }
                _ => flush(&mut run, &mut self.body),
            }
        }
        flush(&mut run, &mut self.body);
    }

    /// A bar from 0 to `y`, `width` data units wide, centred on `x`.
    pub fn bar(&mut self, x: f64, width: f64, y: f64, class: &str, tip: &str) {
        let (a, b) = (self.px(x - width / 2.0), self.px(x + width / 2.0));
        let (top, zero) = (self.py(y.max(self.y.0)), self.py(self.y.0.max(0.0)));
        let _ = write!(
            self.body,
            r#"<rect class="{class}" x="{a:.1}" y="{top:.1}" width="{:.1}" height="{:.1}"><title>{}</title></rect>"#,
            (b - a).max(1.0),
            (zero - top).max(0.0),
            escape(tip)
        );
    }

    /// A label under the x axis at data value `x`.
    pub fn x_label(&mut self, x: f64, label: &str) {
        let _ = write!(
            self.body,
            r#"<text class="tick" text-anchor="middle" x="{:.1}" y="{:.1}">{}</text>"#,
            self.px(x),
            self.height - BOTTOM + 14.0,
            escape(label)
        );
    }

    /// A label inside the plot, left-aligned at data point (`x`, `y`).
    pub fn text(&mut self, x: f64, y: f64, label: &str) {
        let _ = write!(
            self.body,
            r#"<text class="lane" x="{:.1}" y="{:.1}">{}</text>"#,
            self.px(x),
            self.py(y),
            escape(label)
        );
    }

    /// The finished `<svg>` element: axes, ticks, title, legend, then the body.
    pub fn finish(self, y_ticks: bool) -> String {
        let mut s = String::new();
        let (h, bottom) = (self.height, self.height - BOTTOM);
        let _ = write!(
            s,
            r#"<svg id="{}" class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {h}" width="{WIDTH}" height="{h}" role="img" aria-label="{}">"#,
            escape(&self.id),
            escape(&self.title)
        );
        let _ = write!(
            s,
            r#"<text class="title" x="{LEFT}" y="16">{}</text>"#,
            escape(&self.title)
        );
        let _ = write!(
            s,
            r#"<line class="axis" x1="{LEFT}" x2="{:.1}" y1="{bottom:.1}" y2="{bottom:.1}"/><line class="axis" x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{bottom:.1}"/>"#,
            WIDTH - RIGHT
        );
        if y_ticks {
            for v in ticks(self.y.0, self.y.1) {
                let p = self.py(v);
                let _ = write!(
                    s,
                    r#"<line class="grid" x1="{LEFT}" x2="{:.1}" y1="{p:.1}" y2="{p:.1}"/><text class="tick" text-anchor="end" x="{:.1}" y="{:.1}">{}</text>"#,
                    WIDTH - RIGHT,
                    LEFT - 4.0,
                    p + 4.0,
                    tick_label(v)
                );
            }
        }
        if self.x_ticks {
            for v in ticks(self.x.0, self.x.1) {
                let _ = write!(
                    s,
                    r#"<text class="tick" text-anchor="middle" x="{:.1}" y="{:.1}">{}s</text>"#,
                    self.px(v),
                    bottom + 14.0,
                    tick_label(v)
                );
            }
        }
        s.push_str(&self.body);
        // The legend has its own line under the title, so a long title never runs into it.
        let mut x = LEFT;
        for (label, class) in &self.legend {
            let _ = write!(
                s,
                r#"<rect class="{class} swatch" x="{x:.1}" y="21" width="10" height="10"/><text class="legend" x="{:.1}" y="30">{}</text>"#,
                x + 13.0,
                escape(label)
            );
            x += 24.0 + 6.5 * label.chars().count() as f64;
        }
        s.push_str("</svg>");
        s
    }
}

/// About five round tick values covering `[min, max]`.
fn ticks(min: f64, max: f64) -> Vec<f64> {
    let span = max - min;
    if !(span.is_finite() && span > 0.0) {
        return vec![min];
    }
    let raw = span / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| span / s <= 6.0)
        .unwrap_or(10.0 * mag);
    let mut v = (min / step).ceil() * step;
    let mut out = Vec::new();
    while v <= max + step * 1e-9 {
        out.push(v);
        v += step;
    }
    out
}

fn tick_label(v: f64) -> String {
    if v.abs() >= 1000.0 {
        human_rate(v)
    } else if v == v.round() {
        format!("{v:.0}")
    } else if v.abs() >= 0.01 {
        format!("{v:.2}")
    } else {
        format!("{v:.1e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(ticks(0.0, 10.0), vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        assert_eq!(ticks(0.0, 1.0).len(), 6);
        assert_eq!(ticks(3.0, 3.0), vec![3.0]);
    }

    #[test]
    fn a_line_breaks_where_values_are_missing() {
        let mut c = Chart::new("c", "t", 200.0, (0.0, 4.0), (0.0, 1.0));
        c.line(
            &[
                (0.0, Some(0.1)),
                (1.0, Some(0.2)),
                (2.0, None),
                (3.0, Some(0.3)),
                (4.0, Some(0.4)),
            ],
            "a",
            false,
        );
        let svg = c.finish(true);
        assert_eq!(svg.matches("<polyline").count(), 2, "{svg}");
    }
}
