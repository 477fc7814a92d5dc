//! The lineage graph as an inline SVG: nodes in columns by their distance from the sources
//! (data flows left to right), edges as arrows labelled with their relation. Each node says
//! its kind above its label; colours follow the kind.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use aiaudit_core::report::LineageGraph;

use super::esc;
use super::svg::{palette, shorten};
use crate::catalogue::Catalogue;
use crate::fields::node_label;

const BOX_W: f64 = 200.0;
const BOX_H: f64 = 44.0;
const GAP_X: f64 = 90.0;
const GAP_Y: f64 = 18.0;
const MARGIN: f64 = 16.0;
/// Nodes drawn per column; the rest are counted in a last box.
const PER_COLUMN: usize = 24;

/// Each node's place in `g.nodes`, by id.
fn index(g: &LineageGraph) -> BTreeMap<&str, usize> {
    g.nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.id.as_str(), i))
        .collect()
}

/// Each node's column: the longest path to it from a node with no inputs. Edges that would
/// close a cycle are not followed again, so a cyclic graph still gets a layout.
fn columns(g: &LineageGraph) -> Vec<usize> {
    let index = index(g);
    let edges: Vec<(usize, usize)> = g
        .edges
        .iter()
        .filter_map(|e| Some((*index.get(e.from.as_str())?, *index.get(e.to.as_str())?)))
        .collect();
    let mut col = vec![0usize; g.nodes.len()];
    // Bellman–Ford style relaxation: at most one round per node bounds a cyclic graph.
    for _ in 0..g.nodes.len() {
        let mut changed = false;
        for &(a, b) in &edges {
            if col[b] < col[a] + 1 && col[a] + 1 < g.nodes.len() {
                col[b] = col[a] + 1;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    col
}

/// The graph as a `<figure>` with `title` as its caption.
pub(super) fn draw(c: &Catalogue, title: &str, g: &LineageGraph, predictions: u64) -> String {
    let col = columns(g);
    let mut by_col: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, &k) in col.iter().enumerate() {
        by_col.entry(k).or_default().push(i);
    }
    let mut pos: Vec<Option<(f64, f64)>> = vec![None; g.nodes.len()];
    let mut hidden: BTreeMap<usize, usize> = BTreeMap::new();
    let mut rows = 0usize;
    for (&k, members) in &by_col {
        for (row, &i) in members.iter().enumerate() {
            if row < PER_COLUMN {
                let x = MARGIN + k as f64 * (BOX_W + GAP_X);
                let y = MARGIN + row as f64 * (BOX_H + GAP_Y);
                pos[i] = Some((x, y));
            }
        }
        let shown = members.len().min(PER_COLUMN);
        if members.len() > shown {
            hidden.insert(k, members.len() - shown);
        }
        rows = rows.max(shown + usize::from(members.len() > shown));
    }
    let cols = by_col.keys().next_back().map_or(1, |k| k + 1);
    let w = 2.0 * MARGIN + cols as f64 * BOX_W + (cols.saturating_sub(1)) as f64 * GAP_X;
    let h = 2.0 * MARGIN + rows as f64 * (BOX_H + GAP_Y);
    let mut out = String::with_capacity(4096);
    let _ = write!(
        out,
        r##"<figure class="graph"><figcaption>{t}</figcaption><svg viewBox="0 0 {w} {h}" role="img" aria-label="{t}"><defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#64748b"/></marker></defs>"##,
        t = esc(title)
    );
    let index = index(g);
    for e in &g.edges {
        let (Some(&a), Some(&b)) = (index.get(e.from.as_str()), index.get(e.to.as_str())) else {
            continue;
        };
        let (Some((ax, ay)), Some((bx, by))) = (pos[a], pos[b]) else {
            continue;
        };
        let (x1, y1) = (ax + BOX_W, ay + BOX_H / 2.0);
        let (x2, y2) = (bx, by + BOX_H / 2.0);
        // Forward edges as a gentle curve; one that runs back (a cycle) loops below.
        let d = if x2 > x1 {
            let mid = (x1 + x2) / 2.0;
            format!("M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}")
        } else {
            let low = ay.max(by) + BOX_H + GAP_Y / 2.0;
            format!(
                "M{x1},{y1} C{},{low} {},{low} {x2},{y2}",
                x1 + 40.0,
                x2 - 40.0
            )
        };
        let _ = write!(
            out,
            r##"<path d="{d}" fill="none" stroke="#94a3b8" stroke-width="1.5" marker-end="url(#arrow)"><title>{}</title></path>"##,
            esc(&c.label(&e.relation))
        );
    }
    for (i, n) in g.nodes.iter().enumerate() {
        let Some((x, y)) = pos[i] else { continue };
        let color = palette(&n.kind);
        let label = node_label(c, n, predictions);
        let _ = write!(
            out,
            r##"<g><title>{full}</title><rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="6" fill="#ffffff" stroke="{color}" stroke-width="2"/><text x="{tx}" y="{ky}" font-size="10" fill="{color}">{kind}</text><text x="{tx}" y="{ly}" font-size="12" fill="#0f172a">{label}</text></g>"##,
            full = esc(&label),
            tx = x + 8.0,
            ky = y + 15.0,
            ly = y + 33.0,
            kind = esc(&shorten(&n.kind, 30)),
            label = esc(&shorten(&label, 28)),
        );
    }
    for (&k, &n) in &hidden {
        let x = MARGIN + k as f64 * (BOX_W + GAP_X);
        let y = MARGIN + PER_COLUMN as f64 * (BOX_H + GAP_Y);
        let more = c.fill(c.text("text", "more"), &[("n", &c.value(&n.into()))]);
        let _ = write!(
            out,
            r##"<text x="{}" y="{}" font-size="12" fill="#475569">{}</text>"##,
            x + 8.0,
            y + BOX_H / 2.0,
            esc(&more)
        );
    }
    out.push_str("</svg></figure>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Lang;
    use aiaudit_core::report::{LineageEdge, LineageNode};

    fn node(id: &str) -> LineageNode {
        LineageNode {
            id: id.into(),
            label: format!("<{id}>"),
            kind: "dataset".into(),
        }
    }

    fn edge(a: &str, b: &str) -> LineageEdge {
        LineageEdge {
            from: a.into(),
            to: b.into(),
            relation: "input".into(),
        }
    }

    #[test]
    fn columns_follow_the_longest_path_and_survive_cycles() -> Result<(), crate::Error> {
        let mut g = LineageGraph {
            nodes: ["a", "b", "c", "d"].map(node).to_vec(),
            edges: vec![
                edge("a", "b"),
                edge("b", "c"),
                edge("a", "c"),
                edge("x", "d"),
            ],
        };
        assert_eq!(columns(&g), [0, 1, 2, 0]);
        g.edges.push(edge("c", "a"));
        let cols = columns(&g);
        assert!(cols.iter().all(|&k| k < 4), "{cols:?}");
        let c = Catalogue::load(Lang::En)?;
        let svg = draw(&c, "t", &g, 0);
        assert_eq!(svg.matches("<rect").count(), 4);
        assert!(svg.contains("&lt;a&gt;") && !svg.contains("<a>"), "{svg}");
        Ok(())
    }
}
