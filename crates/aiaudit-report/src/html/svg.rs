//! Inline SVG charts: stacked bars, a histogram, horizontal bars and a timeline. Each is a
//! `<figure>` with a caption and a text alternative, sized by its `viewBox` so it scales to
//! the page and prints sharp.

use std::fmt::Write as _;

use super::esc;
use crate::catalogue::Catalogue;

const W: f64 = 760.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const PALETTE: [&str; 8] = [
    "#2563eb", "#0d9488", "#d97706", "#7c3aed", "#db2777", "#65a30d", "#0891b2", "#9333ea",
];

/// The colour of a status (standard ones by severity; others from the palette).
pub fn status_color(s: &str) -> &'static str {
    match s {
        "DEBUG" => "#94a3b8",
        "INFO" => "#2563eb",
        "NOTICE" => "#0d9488",
        "WARNING" => "#f59e0b",
        "ERROR" => "#dc2626",
        "FAILURE" => "#991b1b",
        "CRITICAL" => "#581c87",
        other => palette(other),
    }
}

/// A stable palette colour for a name.
pub fn palette(name: &str) -> &'static str {
    let h = name.bytes().fold(0usize, |h, b| {
        h.wrapping_mul(31).wrapping_add(usize::from(b))
    });
    PALETTE[h % PALETTE.len()]
}

/// A round number at or above `x` (1, 2 or 5 times a power of ten).
fn nice(x: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    let mag = 10f64.powf(x.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .find(|v| *v >= x)
        .unwrap_or(10.0 * mag)
}

fn open(out: &mut String, title: &str, h: f64) {
    let _ = write!(
        out,
        r#"<figure><figcaption>{t}</figcaption><svg viewBox="0 0 {W} {h}" role="img" aria-label="{t}">"#,
        t = esc(title)
    );
}

fn close(out: &mut String) {
    out.push_str("</svg></figure>");
}

/// Horizontal grid lines with labels, for a value axis from 0 to `max` over `top..bottom`.
fn y_axis(out: &mut String, c: &Catalogue, max: f64, top: f64, bottom: f64) {
    for i in 0..=4 {
        let v = max * f64::from(i) / 4.0;
        let y = bottom - (bottom - top) * f64::from(i) / 4.0;
        let _ = write!(
            out,
            r##"<line x1="{LEFT}" x2="{x2}" y1="{y:.1}" y2="{y:.1}" stroke="#e2e8f0"/><text x="{tx}" y="{ty:.1}" text-anchor="end" class="tick">{label}</text>"##,
            x2 = W - RIGHT,
            tx = LEFT - 6.0,
            ty = y + 4.0,
            label = esc(&c.number(v)),
        );
    }
}

/// Labels under `n` slots, thinned so they do not overlap.
fn x_labels(out: &mut String, labels: &[String], slot: f64, y: f64) {
    let every = (labels.len() as f64 * 64.0 / (W - LEFT - RIGHT))
        .ceil()
        .max(1.0) as usize;
    for (i, l) in labels.iter().enumerate().filter(|(i, _)| i % every == 0) {
        let x = LEFT + slot * (i as f64 + 0.5);
        let _ = write!(
            out,
            r#"<text x="{x:.1}" y="{y}" text-anchor="middle" class="tick">{}</text>"#,
            esc(l)
        );
    }
}

fn legend(out: &mut String, names: &[String], color: fn(&str) -> &'static str, y: f64) {
    let mut x = LEFT;
    for n in names {
        let _ = write!(
            out,
            r#"<rect x="{x:.1}" y="{ry}" width="10" height="10" fill="{}"/><text x="{tx:.1}" y="{y}" class="tick">{}</text>"#,
            color(n),
            esc(n),
            ry = y - 9.0,
            tx = x + 14.0,
        );
        x += 24.0 + 7.0 * n.chars().count() as f64;
    }
}

/// Bars per row (a day), each stacked by series (a status), with a legend.
pub fn stacked_bars(c: &Catalogue, title: &str, rows: &[(String, Vec<(String, f64)>)]) -> String {
    let (top, bottom, h) = (12.0, 220.0, 270.0);
    let mut series: Vec<String> = Vec::new();
    for (_, parts) in rows {
        for (s, _) in parts {
            if !series.contains(s) {
                series.push(s.clone());
            }
        }
    }
    series.sort_by(|a, b| status_rank(a).cmp(&status_rank(b)).then(a.cmp(b)));
    let max = nice(
        rows.iter()
            .map(|(_, p)| p.iter().map(|x| x.1).sum::<f64>())
            .fold(0.0, f64::max),
    );
    let mut out = String::new();
    open(&mut out, title, h);
    y_axis(&mut out, c, max, top, bottom);
    let slot = (W - LEFT - RIGHT) / rows.len().max(1) as f64;
    let bar = (slot * 0.8).max(1.0);
    for (i, (label, parts)) in rows.iter().enumerate() {
        let x = LEFT + slot * i as f64 + (slot - bar) / 2.0;
        let mut y = bottom;
        for s in &series {
            let v = parts.iter().find(|p| &p.0 == s).map_or(0.0, |p| p.1);
            if v <= 0.0 {
                continue;
            }
            let hh = (bottom - top) * v / max;
            y -= hh;
            let _ = write!(
                out,
                r#"<rect x="{x:.1}" y="{y:.1}" width="{bar:.1}" height="{hh:.1}" fill="{}"><title>{} {}: {}</title></rect>"#,
                status_color(s),
                esc(label),
                esc(s),
                esc(&c.number(v))
            );
        }
    }
    let labels: Vec<String> = rows
        .iter()
        .map(|(l, _)| c.date(l).unwrap_or_else(|| l.clone()))
        .collect();
    x_labels(&mut out, &labels, slot, bottom + 16.0);
    legend(&mut out, &series, status_color, h - 10.0);
    close(&mut out);
    out
}

fn status_rank(s: &str) -> usize {
    [
        "DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "FAILURE", "CRITICAL",
    ]
    .iter()
    .position(|x| *x == s)
    .unwrap_or(7)
}

/// Vertical bars of counts under labels (a histogram's buckets).
pub fn histogram(c: &Catalogue, title: &str, buckets: &[(String, f64)]) -> String {
    let (top, bottom, h) = (12.0, 220.0, 250.0);
    let max = nice(buckets.iter().map(|b| b.1).fold(0.0, f64::max));
    let mut out = String::new();
    open(&mut out, title, h);
    y_axis(&mut out, c, max, top, bottom);
    let slot = (W - LEFT - RIGHT) / buckets.len().max(1) as f64;
    for (i, (label, v)) in buckets.iter().enumerate() {
        let hh = (bottom - top) * v / max;
        let _ = write!(
            out,
            r##"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{hh:.1}" fill="#0d9488"><title>{}: {}</title></rect>"##,
            esc(label),
            esc(&c.number(*v)),
            x = LEFT + slot * i as f64 + 1.0,
            y = bottom - hh,
            w = (slot - 2.0).max(1.0),
        );
    }
    let labels: Vec<String> = buckets.iter().map(|b| b.0.clone()).collect();
    x_labels(&mut out, &labels, slot, bottom + 16.0);
    close(&mut out);
    out
}

/// One horizontal bar per item, longest first, with its value.
pub fn hbars(c: &Catalogue, title: &str, items: &[(String, f64)]) -> String {
    let mut items = items.to_vec();
    items.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    items.truncate(24);
    let row = 24.0;
    let h = 8.0 + row * items.len().max(1) as f64;
    let label_w = 180.0;
    let max = items.iter().map(|i| i.1).fold(0.0, f64::max).max(1.0);
    let mut out = String::new();
    open(&mut out, title, h);
    for (i, (label, v)) in items.iter().enumerate() {
        let y = 4.0 + row * i as f64;
        let w = (W - label_w - 100.0) * v / max;
        let _ = write!(
            out,
            r#"<text x="{lx}" y="{ty:.1}" text-anchor="end" class="tick">{l}</text><rect x="{label_w}" y="{y:.1}" width="{w:.1}" height="{bh}" fill="{col}"><title>{l}: {n}</title></rect><text x="{vx:.1}" y="{ty:.1}" class="tick">{n}</text>"#,
            lx = label_w - 8.0,
            ty = y + 15.0,
            l = esc(&shorten(label, 28)),
            bh = row - 6.0,
            col = palette(label),
            vx = label_w + w + 6.0,
            n = esc(&c.number(*v)),
        );
    }
    close(&mut out);
    out
}

/// A span per row on a shared time axis (Unix ns), labelled on the left; a span of no length
/// shows as a tick.
pub fn timeline(c: &Catalogue, title: &str, spans: &[(String, i64, i64)]) -> String {
    let row = 22.0;
    let label_w = 200.0;
    let h = 30.0 + row * spans.len().max(1) as f64;
    let lo = spans.iter().map(|s| s.1).min().unwrap_or(0);
    let hi = spans.iter().map(|s| s.2).max().unwrap_or(1).max(lo + 1);
    let scale = |t: i64| label_w + (W - label_w - RIGHT) * (t - lo) as f64 / (hi - lo) as f64;
    let mut out = String::new();
    open(&mut out, title, h);
    for (i, (label, a, b)) in spans.iter().enumerate() {
        let y = 4.0 + row * i as f64;
        let x = scale(*a);
        let w = (scale(*b) - x).max(3.0);
        let _ = write!(
            out,
            r#"<text x="{lx}" y="{ty:.1}" text-anchor="end" class="tick">{l}</text><rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{bh}" rx="2" fill="{col}"><title>{l}: {from} – {to}</title></rect>"#,
            lx = label_w - 8.0,
            ty = y + 13.0,
            l = esc(&shorten(label, 30)),
            bh = row - 6.0,
            col = palette(label),
            from = esc(&time(c, *a)),
            to = esc(&time(c, *b)),
        );
    }
    let axis = h - 8.0;
    let _ = write!(
        out,
        r#"<text x="{label_w}" y="{axis}" class="tick">{}</text><text x="{x}" y="{axis}" text-anchor="end" class="tick">{}</text>"#,
        esc(&time(c, lo)),
        esc(&time(c, hi)),
        x = W - RIGHT,
    );
    close(&mut out);
    out
}

fn time(c: &Catalogue, ns: i64) -> String {
    let s = aiaudit_core::timefmt::format_rfc3339(ns);
    c.time(&s).unwrap_or(s)
}

pub(super) fn shorten(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_owned();
    }
    let mut t: String = s.chars().take(n - 1).collect();
    t.push('…');
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Lang;

    #[test]
    fn charts_are_well_formed_and_escaped() -> Result<(), crate::Error> {
        let c = Catalogue::load(Lang::En)?;
        let s = stacked_bars(
            &c,
            "a <b>",
            &[(
                "2026-11-24".into(),
                vec![("INFO".into(), 3.0), ("<x>".into(), 1.0)],
            )],
        );
        assert!(s.contains("a &lt;b&gt;") && s.contains("&lt;x&gt;") && !s.contains("<x>"));
        assert_eq!(s.matches("<svg").count(), s.matches("</svg>").count());
        let t = timeline(&c, "t", &[("v1".into(), 0, 10), ("v2".into(), 5, 5)]);
        assert_eq!(t.matches("<rect").count(), 2);
        assert!(hbars(&c, "h", &[]).contains("</svg>"));
        assert_eq!(nice(7.0), 10.0);
        assert_eq!(nice(0.0), 1.0);
        Ok(())
    }
}
