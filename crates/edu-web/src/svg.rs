//! Charts rendered on the server as SVG (no script, no external library): horizontal bars with target lines, and
//! a trend line. Output is markup to embed in a page; every text is escaped.

use std::fmt::Write;

use crate::error::html_escape;

/// One bar: label, value (None = no data), and a status class (`good`, `warn`, `bad`, `muted`).
pub struct Bar {
    pub label: String,
    pub value: Option<f64>,
    pub class: &'static str,
    pub href: Option<String>,
}

fn fmt_value(v: f64) -> String {
    if v.abs() >= 1000.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// Horizontal bars, one per row, with vertical lines for the local target and the national threshold.
pub fn bar_chart(
    bars: &[Bar],
    target: Option<f64>,
    threshold: Option<f64>,
    unit: &str,
    title: &str,
) -> String {
    let label_width = 150.0;
    let chart_width = 420.0;
    let value_width = 80.0;
    let row = 24.0;
    let top = 26.0;
    let height = top + row * bars.len() as f64 + 24.0;
    let width = label_width + chart_width + value_width;
    let max = bars
        .iter()
        .filter_map(|b| b.value)
        .chain(target)
        .chain(threshold)
        .fold(0.0_f64, f64::max)
        .max(f64::MIN_POSITIVE);
    let scale = |v: f64| label_width + chart_width * (v / max).clamp(0.0, 1.0);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="{title}" xmlns="http://www.w3.org/2000/svg" font-size="12">"#,
        title = html_escape(title)
    );
    for (i, bar) in bars.iter().enumerate() {
        let y = top + row * i as f64;
        let label = html_escape(&bar.label);
        let label_markup = match &bar.href {
            Some(href) => format!(
                r#"<a href="{}"><text x="{}" y="{}" text-anchor="end" class="chart-link">{label}</text></a>"#,
                html_escape(href),
                label_width - 6.0,
                y + 15.0
            ),
            None => format!(
                r#"<text x="{}" y="{}" text-anchor="end">{label}</text>"#,
                label_width - 6.0,
                y + 15.0
            ),
        };
        svg.push_str(&label_markup);
        match bar.value {
            Some(v) => {
                let _ = write!(
                    svg,
                    r#"<rect x="{label_width}" y="{}" width="{:.1}" height="{}" class="bar-{}"><title>{label}: {} {}</title></rect><text x="{:.1}" y="{}">{} {}</text>"#,
                    y + 4.0,
                    (scale(v) - label_width).max(0.5),
                    row - 8.0,
                    bar.class,
                    fmt_value(v),
                    html_escape(unit),
                    scale(v) + 4.0,
                    y + 15.0,
                    fmt_value(v),
                    html_escape(unit)
                );
            }
            None => {
                let _ = write!(
                    svg,
                    r#"<text x="{}" y="{}" class="chart-muted">—</text>"#,
                    label_width + 4.0,
                    y + 15.0
                );
            }
        }
    }
    let bottom = top + row * bars.len() as f64;
    for (value, class, name) in [
        (target, "line-target", "目标"),
        (threshold, "line-threshold", "国家标准"),
    ] {
        if let Some(v) = value {
            let x = scale(v);
            let _ = write!(
                svg,
                r#"<line x1="{x:.1}" y1="{}" x2="{x:.1}" y2="{bottom}" class="{class}"/><text x="{x:.1}" y="{}" text-anchor="middle" class="chart-muted">{name} {}</text>"#,
                top - 4.0,
                if class == "line-target" {
                    top - 8.0
                } else {
                    bottom + 16.0
                },
                fmt_value(v)
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

/// A line over dated points with the target as a dashed line. Points: (label, value).
pub fn line_chart(
    points: &[(String, Option<f64>)],
    target: Option<f64>,
    unit: &str,
    title: &str,
) -> String {
    let width = 560.0;
    let height = 200.0;
    let (left, right, top, bottom) = (48.0, 16.0, 16.0, 36.0);
    let values: Vec<f64> = points.iter().filter_map(|p| p.1).chain(target).collect();
    let (mut min, mut max) = values
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
    if values.is_empty() {
        (min, max) = (0.0, 1.0);
    }
    if (max - min).abs() < 1e-9 {
        max += 1.0;
        min -= 1.0;
    }
    let pad = (max - min) * 0.1;
    let (min, max) = (min - pad, max + pad);
    let n = points.len().max(2) - 1;
    let x = |i: usize| left + (width - left - right) * i as f64 / n as f64;
    let y = |v: f64| top + (height - top - bottom) * (1.0 - (v - min) / (max - min));
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg" font-size="11">"#,
        html_escape(title)
    );
    let _ = write!(
        svg,
        r#"<line x1="{left}" y1="{}" x2="{}" y2="{}" class="axis"/>"#,
        height - bottom,
        width - right,
        height - bottom
    );
    for v in [min + pad, max - pad] {
        let _ = write!(
            svg,
            r#"<text x="{}" y="{:.1}" text-anchor="end" class="chart-muted">{}</text>"#,
            left - 4.0,
            y(v) + 4.0,
            fmt_value(v)
        );
    }
    if let Some(t) = target {
        let _ = write!(
            svg,
            r#"<line x1="{left}" y1="{:.1}" x2="{}" y2="{:.1}" class="line-target"/>"#,
            y(t),
            width - right,
            y(t)
        );
    }
    let path: Vec<String> = points
        .iter()
        .enumerate()
        .filter_map(|(i, (_, v))| v.map(|v| format!("{:.1},{:.1}", x(i), y(v))))
        .collect();
    if path.len() > 1 {
        let _ = write!(
            svg,
            r#"<polyline points="{}" class="trend"/>"#,
            path.join(" ")
        );
    }
    for (i, (label, value)) in points.iter().enumerate() {
        if let Some(v) = value {
            let _ = write!(
                svg,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3" class="trend-point"><title>{}: {} {}</title></circle>"#,
                x(i),
                y(*v),
                html_escape(label),
                fmt_value(*v),
                html_escape(unit)
            );
        }
        let every = (points.len() / 6).max(1);
        if i % every == 0 || i + 1 == points.len() {
            let _ = write!(
                svg,
                r#"<text x="{:.1}" y="{}" text-anchor="middle" class="chart-muted">{}</text>"#,
                x(i),
                height - bottom + 16.0,
                html_escape(label)
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_largest_value_and_escape_labels() {
        let bars = vec![
            Bar {
                label: "萨尔图区".into(),
                value: Some(98.5),
                class: "good",
                href: Some("/x?a=1&b=2".into()),
            },
            Bar {
                label: "<b>".into(),
                value: Some(49.25),
                class: "bad",
                href: None,
            },
            Bar {
                label: "无数据".into(),
                value: None,
                class: "muted",
                href: None,
            },
        ];
        let svg = bar_chart(&bars, Some(96.0), Some(85.0), "%", "毛入园率");
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("&lt;b&gt;") && !svg.contains("<b>"));
        assert!(svg.contains("a=1&amp;b=2"));
        assert!(
            svg.contains(r#"width="420.0""#),
            "the largest bar spans the chart: {svg}"
        );
        assert!(
            svg.contains(r#"width="210.0""#),
            "half the value, half the width"
        );
        assert!(svg.contains("目标 96") && svg.contains("国家标准 85"));
    }

    #[test]
    fn trend_draws_a_line_through_known_points() {
        let points = vec![
            ("1月".to_owned(), Some(94.0)),
            ("2月".to_owned(), None),
            ("3月".to_owned(), Some(96.5)),
        ];
        let svg = line_chart(&points, Some(96.0), "%", "趋势");
        assert_eq!(svg.matches("<circle").count(), 2);
        assert!(svg.contains("<polyline"));
    }
}
