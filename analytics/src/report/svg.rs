//! Small SVG charts for reports: line and bar charts with axes, gridlines and a legend, drawn as plain
//! SVG markup (no scripts, no external files), so a report opens anywhere.

use std::fmt::Write;

/// One series of a chart: its name, colour and values (one per x label; `None` leaves a gap).
pub struct Series<'a> {
    /// Legend text.
    pub name: &'a str,
    /// CSS colour.
    pub color: &'a str,
    /// Values, one per x position.
    pub values: Vec<Option<f64>>,
}

/// How series are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartKind {
    /// Polylines (gaps break the line).
    Line,
    /// Grouped bars.
    Bar,
}

const WIDTH: f64 = 860.0;
const HEIGHT: f64 = 300.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 28.0;
const BOTTOM: f64 = 48.0;

/// Escapes text for HTML and SVG.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A "nice" axis maximum at or above `value` (1, 2 or 5 × a power of ten).
fn nice_ceiling(value: f64) -> f64 {
    if !(value.is_finite() && value > 0.0) {
        return 1.0;
    }
    let power = 10f64.powf(value.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * power)
        .find(|c| *c >= value)
        .unwrap_or(10.0 * power)
}

/// An SVG chart of `series` over `labels` with `unit` on the y axis (the y axis starts at zero, or at
/// the lowest value when that is negative). Every `label_every`-th x label is written.
pub fn chart(
    kind: ChartKind,
    title: &str,
    unit: &str,
    labels: &[String],
    series: &[Series<'_>],
    label_every: usize,
) -> String {
    let values = series.iter().flat_map(|s| s.values.iter().flatten());
    let (low, high) = values.fold((0.0_f64, 0.0_f64), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
    let top = nice_ceiling(high);
    let bottom = if low < 0.0 { -nice_ceiling(-low) } else { 0.0 };
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let n = labels.len().max(1);
    let step = plot_w / n as f64;
    let x = |i: usize| LEFT + step * (i as f64 + 0.5);
    let y = |v: f64| TOP + plot_h * (top - v) / (top - bottom);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{t}" class="chart"><text x="{LEFT}" y="18" class="title">{t}</text>"#,
        t = escape(title)
    );
    for tick in 0..=4 {
        let v = bottom + (top - bottom) * f64::from(tick) / 4.0;
        let _ = write!(
            svg,
            r#"<line x1="{LEFT}" x2="{x2}" y1="{yy:.1}" y2="{yy:.1}" class="grid"/><text x="{tx}" y="{ty:.1}" class="axis" text-anchor="end">{v}</text>"#,
            x2 = WIDTH - RIGHT,
            yy = y(v),
            tx = LEFT - 6.0,
            ty = y(v) + 4.0,
            v = format_tick(v)
        );
    }
    let _ = write!(
        svg,
        r#"<text x="12" y="{ym:.1}" class="axis" transform="rotate(-90 12 {ym:.1})" text-anchor="middle">{u}</text>"#,
        ym = TOP + plot_h / 2.0,
        u = escape(unit)
    );
    for (i, label) in labels.iter().enumerate() {
        if label_every > 0 && i % label_every == 0 {
            let _ = write!(
                svg,
                r#"<text x="{xx:.1}" y="{yy}" class="axis" text-anchor="middle">{l}</text>"#,
                xx = x(i),
                yy = HEIGHT - BOTTOM + 16.0,
                l = escape(label)
            );
        }
    }
    match kind {
        ChartKind::Line => draw_lines(&mut svg, series, &x, &y),
        ChartKind::Bar => draw_bars(&mut svg, series, step, &x, &y, y(0.0_f64.max(bottom))),
    }
    for (k, s) in series.iter().enumerate() {
        let lx = LEFT + 170.0 * k as f64;
        let _ = write!(
            svg,
            r#"<rect x="{lx}" y="{ly}" width="12" height="12" fill="{c}"/><text x="{tx}" y="{ty}" class="axis">{n}</text>"#,
            ly = HEIGHT - 20.0,
            c = escape(s.color),
            tx = lx + 16.0,
            ty = HEIGHT - 10.0,
            n = escape(s.name)
        );
    }
    svg.push_str("</svg>");
    svg
}

fn draw_lines(
    svg: &mut String,
    series: &[Series<'_>],
    x: &dyn Fn(usize) -> f64,
    y: &dyn Fn(f64) -> f64,
) {
    for s in series {
        let mut segment: Vec<String> = Vec::new();
        let flush = |segment: &mut Vec<String>, svg: &mut String| {
            if !segment.is_empty() {
                let _ = write!(
                    svg,
                    r#"<polyline fill="none" stroke="{c}" stroke-width="2" points="{p}"/>"#,
                    c = escape(s.color),
                    p = segment.join(" ")
                );
                segment.clear();
            }
        };
        for (i, value) in s.values.iter().enumerate() {
            match value {
                Some(v) => segment.push(format!("{:.1},{:.1}", x(i), y(*v))),
                None => flush(&mut segment, svg),
            }
        }
        flush(&mut segment, svg);
    }
}

fn draw_bars(
    svg: &mut String,
    series: &[Series<'_>],
    step: f64,
    x: &dyn Fn(usize) -> f64,
    y: &dyn Fn(f64) -> f64,
    zero: f64,
) {
    let width = (step * 0.8) / series.len().max(1) as f64;
    for (k, s) in series.iter().enumerate() {
        for (i, value) in s.values.iter().enumerate() {
            let Some(v) = value else { continue };
            let left = x(i) - step * 0.4 + width * k as f64;
            let (top, bottom) = if y(*v) < zero {
                (y(*v), zero)
            } else {
                (zero, y(*v))
            };
            let _ = write!(
                svg,
                r#"<rect x="{left:.1}" y="{top:.1}" width="{width:.1}" height="{h:.1}" fill="{c}"><title>{v:.2}</title></rect>"#,
                h = (bottom - top).max(0.5),
                c = escape(s.color)
            );
        }
    }
}

fn format_tick(v: f64) -> String {
    if v.abs() >= 100.0 || v == v.trunc() {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_maxima_are_round() {
        assert_eq!(nice_ceiling(7.3), 10.0);
        assert_eq!(nice_ceiling(130.0), 200.0);
        assert_eq!(nice_ceiling(0.04), 0.05);
        assert_eq!(nice_ceiling(0.0), 1.0);
    }

    #[test]
    fn a_gap_breaks_the_line_and_text_is_escaped() {
        let labels: Vec<String> = (0..4).map(|i| i.to_string()).collect();
        let svg = chart(
            ChartKind::Line,
            "a <b> & c",
            "kW",
            &labels,
            &[Series {
                name: "x",
                color: "#123",
                values: vec![Some(1.0), Some(2.0), None, Some(3.0)],
            }],
            1,
        );
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains("a &lt;b&gt; &amp; c"));
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    }
}
