//! Server-side SVG for the "one map, one board, one card": the risk map (the school's site plan with its risk
//! points placed and coloured by level), and the printable board and card as A4 pages (210 × 297 mm, drawn in
//! tenths of a millimetre), which print to exactly one page. Text is wrapped here; nothing runs in the browser.

use std::fmt::Write;

use edu_app::ledgers::{BoardData, CardData, RiskPointView};

/// A4 in tenths of a millimetre.
pub const PAGE_W: f64 = 2100.0;
pub const PAGE_H: f64 = 2970.0;

/// The fill of a level (the four-colour scheme of risk grading).
pub fn fill(level: &str) -> &'static str {
    match level {
        "major" => "#d7301f",
        "large" => "#f28e2b",
        "general" => "#e8c21b",
        "low" => "#2f6fd0",
        _ => "#9aa5b1",
    }
}

/// Text colour readable on a level's fill.
fn ink(level: &str) -> &'static str {
    if level == "general" {
        "#1d2330"
    } else {
        "#ffffff"
    }
}

pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

/// Width of a character in em: CJK and full-width forms 1, others about 0.56.
fn char_em(c: char) -> f64 {
    if (c as u32) >= 0x2E80 { 1.0 } else { 0.56 }
}

fn em_width(text: &str) -> f64 {
    text.chars().map(char_em).sum()
}

/// Wraps text to lines of at most `max_em` (CJK breaks anywhere; Latin words break at spaces when possible).
pub fn wrap(text: &str, max_em: f64) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        let mut width = 0.0;
        let mut last_space: Option<usize> = None;
        for c in paragraph.chars() {
            let w = char_em(c);
            if width + w > max_em && !line.is_empty() {
                match last_space.filter(|_| c != ' ') {
                    Some(at) if at > 0 => {
                        let rest: String = line[at + 1..].to_owned();
                        line.truncate(at);
                        lines.push(std::mem::take(&mut line));
                        width = em_width(&rest);
                        line = rest;
                    }
                    _ => {
                        lines.push(std::mem::take(&mut line));
                        width = 0.0;
                    }
                }
                last_space = None;
                if c == ' ' {
                    continue;
                }
            }
            if c == ' ' {
                last_space = Some(line.len());
            }
            line.push(c);
            width += w;
        }
        lines.push(line);
    }
    while lines.len() > 1 && lines.last().is_some_and(|l| l.trim().is_empty()) {
        lines.pop();
    }
    lines
}

/// Text lines at (x, y) with a line height.
fn text_lines(
    out: &mut String,
    x: f64,
    y: f64,
    size: f64,
    line_height: f64,
    lines: &[String],
    attrs: &str,
) {
    for (i, line) in lines.iter().enumerate() {
        let _ = write!(
            out,
            r#"<text x="{x:.1}" y="{:.1}" font-size="{size:.1}" {attrs}>{}</text>"#,
            y + i as f64 * line_height,
            esc(line)
        );
    }
}

const FONT: &str = r#"font-family="PingFang SC, Microsoft YaHei, Noto Sans CJK SC, Source Han Sans SC, sans-serif""#;

/// Draws the site plan and its points into the box (x, y, w, h); returns the drawn plan's box.
fn plan_and_points(
    out: &mut String,
    image_href: Option<&str>,
    plan: Option<(i64, i64)>,
    points: &[RiskPointView],
    bounds: (f64, f64, f64, f64),
    radius: f64,
    empty_text: &str,
) {
    let (bx, by, bw, bh) = bounds;
    let (pw, ph) = plan
        .map(|(w, h)| (w.max(1) as f64, h.max(1) as f64))
        .unwrap_or((1000.0, 700.0));
    let scale = (bw / pw).min(bh / ph);
    let (w, h) = (pw * scale, ph * scale);
    let (x, y) = (bx + (bw - w) / 2.0, by + (bh - h) / 2.0);
    let _ = write!(
        out,
        r##"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="#f5f7fa" stroke="#d7dde6" stroke-width="{:.1}"/>"##,
        radius / 10.0
    );
    match (image_href, plan) {
        (Some(href), Some(_)) => {
            let _ = write!(
                out,
                r#"<image href="{0}" xlink:href="{0}" x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" preserveAspectRatio="xMidYMid meet"/>"#,
                esc(href)
            );
        }
        _ => {
            let _ = write!(
                out,
                r##"<text x="{:.1}" y="{:.1}" font-size="{:.1}" text-anchor="middle" fill="#5f6b7a" {FONT}>{}</text>"##,
                x + w / 2.0,
                y + h / 2.0,
                radius * 1.2,
                esc(empty_text)
            );
        }
    }
    for p in points {
        let (Some(px), Some(py)) = (p.x, p.y) else {
            continue;
        };
        let cx = x + w * px / 100.0;
        let cy = y + h * py / 100.0;
        let _ = write!(
            out,
            r##"<g class="risk-point" data-id="{id}" data-level="{level}" data-colour="{colour}"><title>{n}. {place} · {label}</title><circle cx="{cx:.1}" cy="{cy:.1}" r="{radius:.1}" fill="{fill}" stroke="#ffffff" stroke-width="{sw:.1}"/><text x="{cx:.1}" y="{ty:.1}" font-size="{fs:.1}" font-weight="bold" text-anchor="middle" fill="{ink}" {FONT}>{n}</text></g>"##,
            id = p.id,
            level = esc(&p.level),
            colour = esc(&p.colour),
            n = p.number,
            place = esc(&p.place),
            label = esc(&p.level_label),
            fill = fill(&p.level),
            sw = radius / 6.0,
            ty = cy + radius * 0.38,
            fs = radius * 1.05,
            ink = ink(&p.level),
        );
    }
}

fn legend(out: &mut String, x: f64, y: f64, size: f64, points: &[RiskPointView], en: bool) {
    let items = [
        ("major", "重大风险", "Major"),
        ("large", "较大风险", "Large"),
        ("general", "一般风险", "General"),
        ("low", "低风险", "Low"),
    ];
    let mut at = x;
    for (level, zh, en_label) in items {
        let n = points.iter().filter(|p| p.level == level).count();
        let label = format!("{} {n}", if en { en_label } else { zh });
        let _ = write!(
            out,
            r##"<rect x="{at:.1}" y="{:.1}" width="{size:.1}" height="{size:.1}" rx="{:.1}" fill="{}"/><text x="{:.1}" y="{:.1}" font-size="{size:.1}" fill="#1d2330" {FONT}>{}</text>"##,
            y - size * 0.85,
            size / 5.0,
            fill(level),
            at + size * 1.3,
            y,
            esc(&label)
        );
        at += size * 1.3 + em_width(&label) * size + size * 1.6;
    }
}

/// The risk map: the site plan with its points, and a legend, scaled to the width of its container.
pub fn risk_map(
    name: &str,
    plan: Option<(i64, i64)>,
    image_href: &str,
    points: &[RiskPointView],
    en: bool,
    standalone: bool,
) -> String {
    let (pw, ph) = plan
        .map(|(w, h)| (w.max(1) as f64, h.max(1) as f64))
        .unwrap_or((1000.0, 700.0));
    let w = 1000.0;
    let h = w * ph / pw;
    let band = 60.0;
    let total = h + band;
    let mut out = String::new();
    let size = if standalone {
        format!(r#"width="{w}" height="{total:.0}""#)
    } else {
        r#"width="100%""#.to_owned()
    };
    let title = if en {
        format!("{name}: risk map (four colours)")
    } else {
        format!("{name}安全风险四色分布图")
    };
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="0 0 {w} {total:.1}" {size} role="img" aria-label="{t}" class="risk-map"><title>{t}</title>"#,
        t = esc(&title)
    );
    plan_and_points(
        &mut out,
        Some(image_href),
        plan,
        points,
        (0.0, 0.0, w, h),
        16.0,
        if en {
            "No site plan uploaded"
        } else {
            "尚未上传校园平面图"
        },
    );
    legend(&mut out, 10.0, h + 42.0, 26.0, points, en);
    out.push_str("</svg>");
    out
}

/// Opens an A4 page: real size for a standalone document, a print-safe size (fits A4 and Letter with the
/// browser's default margins) inside a page.
fn page_open(out: &mut String, title: &str, standalone: bool) {
    let size = if standalone {
        r#"width="210mm" height="297mm""#
    } else {
        r#"width="180mm" height="254.6mm""#
    };
    let _ = write!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="0 0 {PAGE_W} {PAGE_H}" {size} role="img" aria-label="{t}" class="a4-page" data-page="A4"><title>{t}</title><rect x="0" y="0" width="{PAGE_W}" height="{PAGE_H}" fill="#ffffff"/>"##,
        t = esc(title)
    );
}

/// The gate board (一栏): title, the four-colour map, every risk point with its controls (as many as fit; the
/// rest counted), contacts and emergency numbers. One A4 page.
pub fn board(data: &BoardData, image_href: &str, standalone: bool) -> String {
    let mut out = String::new();
    page_open(
        &mut out,
        &format!("{} 安全风险公告栏", data.name),
        standalone,
    );
    let _ = write!(
        out,
        r##"<rect x="40" y="40" width="2020" height="2890" fill="none" stroke="#1f4e8c" stroke-width="8"/><rect x="40" y="40" width="2020" height="230" fill="#1f4e8c"/><text x="1050" y="170" font-size="110" font-weight="bold" text-anchor="middle" fill="#ffffff" {FONT}>安全风险公告栏</text><text x="1050" y="245" font-size="44" text-anchor="middle" fill="#ffffff" {FONT}>{}</text>"##,
        esc(&format!(
            "{}（{}）· 风险分级管控 · 一图一栏一卡",
            data.name, data.code
        ))
    );
    plan_and_points(
        &mut out,
        Some(image_href),
        data.site_plan,
        &data.points,
        (100.0, 300.0, 1900.0, 900.0),
        30.0,
        "尚未上传校园平面图",
    );
    legend(&mut out, 100.0, 1262.0, 40.0, &data.points, false);
    // The table.
    let columns = [
        ("序号", 110.0),
        ("风险点", 360.0),
        ("风险类型", 230.0),
        ("风险等级", 300.0),
        ("主要管控措施", 650.0),
        ("责任人", 250.0),
    ];
    let (font, line) = (34.0, 44.0);
    let top = 1300.0;
    let limit = 2600.0;
    let mut x = 100.0;
    let _ = write!(
        out,
        r##"<rect x="100" y="{top}" width="1900" height="64" fill="#e8eef7" stroke="#d7dde6" stroke-width="2"/>"##
    );
    for (label, width) in columns {
        let _ = write!(
            out,
            r##"<text x="{:.1}" y="{:.1}" font-size="{font}" font-weight="bold" fill="#1d2330" {FONT}>{label}</text>"##,
            x + 12.0,
            top + 45.0
        );
        x += width;
    }
    let mut y = top + 64.0;
    let mut shown = 0;
    for p in &data.points {
        let cells: Vec<Vec<String>> = [
            p.number.to_string(),
            p.place.clone(),
            p.hazard_type.clone(),
            p.level_label.clone(),
            p.controls.clone(),
            p.responsible.clone(),
        ]
        .iter()
        .zip(columns)
        .map(|(text, (_, width))| {
            let mut lines = wrap(text, (width - 24.0) / font);
            lines.truncate(4);
            lines
        })
        .collect();
        let rows = cells.iter().map(Vec::len).max().unwrap_or(1).max(1) as f64;
        let height = rows * line + 20.0;
        // Keep room for the "more" line below the last row.
        if y + height > limit - line {
            break;
        }
        let _ = write!(
            out,
            r##"<rect x="100" y="{y:.1}" width="1900" height="{height:.1}" fill="none" stroke="#d7dde6" stroke-width="2"/><rect x="{:.1}" y="{y:.1}" width="{:.1}" height="{height:.1}" fill="{}"/>"##,
            100.0 + columns[0].1 + columns[1].1 + columns[2].1,
            columns[3].1,
            fill(&p.level)
        );
        let mut x = 100.0;
        for (i, (lines, (_, width))) in cells.iter().zip(columns).enumerate() {
            let colour = if i == 3 { ink(&p.level) } else { "#1d2330" };
            text_lines(
                &mut out,
                x + 12.0,
                y + 42.0,
                font,
                line,
                lines,
                &format!(r#"fill="{colour}" {FONT}"#),
            );
            x += width;
        }
        y += height;
        shown += 1;
    }
    if shown < data.points.len() {
        let _ = write!(
            out,
            r##"<text x="110" y="{:.1}" font-size="{font}" fill="#5f6b7a" {FONT}>另有 {} 个风险点，详见风险分级管控台账</text>"##,
            y + 44.0,
            data.points.len() - shown
        );
    } else if data.points.is_empty() {
        let _ = write!(
            out,
            r##"<text x="110" y="{:.1}" font-size="{font}" fill="#5f6b7a" {FONT}>尚未登记风险点</text>"##,
            y + 44.0
        );
    }
    // Footer: contacts and emergency numbers.
    let _ = write!(
        out,
        r##"<line x1="100" y1="2640" x2="2000" y2="2640" stroke="#1f4e8c" stroke-width="4"/>"##
    );
    let contacts: Vec<String> = data
        .contacts
        .iter()
        .map(|(who, phone)| format!("{who} {phone}"))
        .collect();
    let mut lines = wrap(&format!("应急联系：{}", contacts.join("；")), 1880.0 / 36.0);
    lines.truncate(2);
    text_lines(
        &mut out,
        100.0,
        2700.0,
        36.0,
        50.0,
        &lines,
        &format!(r##"fill="#1d2330" {FONT}"##),
    );
    let _ = write!(
        out,
        r##"<text x="100" y="2820" font-size="52" font-weight="bold" fill="#d7301f" {FONT}>报警 110　火警 119　急救 120</text><text x="2000" y="2880" font-size="32" text-anchor="end" fill="#5f6b7a" {FONT}>{}</text></svg>"##,
        esc(&format!("发布日期 {} · 大庆市教育局监制", data.date))
    );
    out
}

/// The card (一卡) of one risk point: level band, the point's risks, controls, emergency steps, responsible
/// person and phone, emergency numbers. The font shrinks until everything fits one A4 page.
pub fn card(data: &CardData, standalone: bool) -> String {
    let p = &data.point;
    let mut out = String::new();
    page_open(
        &mut out,
        &format!("{} {} 风险告知卡", data.name, p.place),
        standalone,
    );
    let band = fill(&p.level);
    let band_ink = ink(&p.level);
    let _ = write!(
        out,
        r##"<rect x="40" y="40" width="2020" height="2890" fill="none" stroke="{band}" stroke-width="12"/><rect x="40" y="40" width="2020" height="380" fill="{band}"/><text x="1050" y="190" font-size="96" font-weight="bold" text-anchor="middle" fill="{band_ink}" {FONT}>岗位（场所）安全风险告知卡</text><text x="1050" y="330" font-size="80" font-weight="bold" text-anchor="middle" fill="{band_ink}" {FONT}>{}</text>"##,
        esc(&p.level_label)
    );
    let rows: Vec<(&str, String)> = vec![
        ("学校", format!("{}（{}）", data.name, data.code)),
        ("风险点", p.place.clone()),
        ("风险类型", p.hazard_type.clone()),
        (
            "风险等级",
            format!("{}　风险值 D = {}（{}）", p.level_label, p.score, p.lec),
        ),
        ("风险描述", p.description.clone()),
        ("管控措施", p.controls.clone()),
        ("应急处置", p.emergency_steps.clone()),
        ("责任人", p.responsible.clone()),
        ("应急电话", p.contact_phone.clone()),
        ("学校电话", data.phone.clone()),
        ("报警求助", "报警 110　火警 119　急救 120".to_owned()),
    ];
    let (top, bottom) = (460.0, 2760.0);
    let label_w = 380.0;
    let value_w = 1940.0 - label_w;
    let mut font = 50.0;
    let layout = |font: f64| -> (Vec<Vec<String>>, f64) {
        let line = font * 1.35;
        let wrapped: Vec<Vec<String>> = rows
            .iter()
            .map(|(_, v)| wrap(if v.is_empty() { "—" } else { v }, (value_w - 40.0) / font))
            .collect();
        let total = wrapped
            .iter()
            .map(|l| l.len().max(1) as f64 * line + font)
            .sum();
        (wrapped, total)
    };
    let (mut wrapped, mut total) = layout(font);
    while total > bottom - top && font > 26.0 {
        font -= 2.0;
        (wrapped, total) = layout(font);
    }
    let line = font * 1.35;
    // Still too long at the smallest size: cut the longest texts.
    while total > bottom - top {
        let Some(longest) = (0..wrapped.len()).max_by_key(|i| wrapped[*i].len()) else {
            break;
        };
        if wrapped[longest].len() <= 1 {
            break;
        }
        wrapped[longest].pop();
        if let Some(last) = wrapped[longest].last_mut() {
            last.push('…');
        }
        total -= line;
    }
    let mut y = top;
    for ((label, _), lines) in rows.iter().zip(&wrapped) {
        let height = lines.len().max(1) as f64 * line + font;
        let _ = write!(
            out,
            r##"<rect x="80" y="{y:.1}" width="{label_w}" height="{height:.1}" fill="#e8eef7" stroke="#d7dde6" stroke-width="2"/><rect x="{:.1}" y="{y:.1}" width="{value_w}" height="{height:.1}" fill="#ffffff" stroke="#d7dde6" stroke-width="2"/><text x="100" y="{:.1}" font-size="{font:.1}" font-weight="bold" fill="#1d2330" {FONT}>{label}</text>"##,
            80.0 + label_w,
            y + font * 1.2
        );
        text_lines(
            &mut out,
            80.0 + label_w + 20.0,
            y + font * 1.2,
            font,
            line,
            lines,
            &format!(r##"fill="#1d2330" {FONT}"##),
        );
        y += height;
    }
    let _ = write!(
        out,
        r##"<text x="80" y="2850" font-size="36" fill="#5f6b7a" {FONT}>请全体师生知悉本岗位（场所）风险，严格落实管控措施。</text><text x="2020" y="2900" font-size="32" text-anchor="end" fill="#5f6b7a" {FONT}>{}</text></svg>"##,
        esc(&format!(
            "制卡日期 {} · 编号 {}-{}",
            data.date, data.code, p.id
        ))
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_respects_width_and_keeps_every_character() {
        let text = "配电箱、电线线路无私拉乱接、老化破损，每周检查并记录 weekly check of boards";
        let lines = wrap(text, 10.0);
        assert!(
            lines.iter().all(|l| em_width(l) <= 10.0 + 1e-9),
            "{lines:?}"
        );
        let joined: String = lines.concat();
        let strip = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
        assert_eq!(strip(&joined), strip(text));
        assert_eq!(wrap("", 5.0), vec![String::new()]);
        assert_eq!(wrap("a\nb", 5.0), vec!["a".to_owned(), "b".to_owned()]);
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(esc("<script>&\"'"), "&lt;script&gt;&amp;&quot;&#39;");
        assert_eq!(esc("a\u{1}b"), "ab");
    }
}
