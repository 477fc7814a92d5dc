//! A lineage graph as a table, JSON, Graphviz DOT and Mermaid. Names and keys come from the
//! records, so every label is escaped for the format it goes into.

use super::{Graph, Node};

fn label(g: &Graph, n: &Node) -> String {
    match n {
        Node::Event { seq } => match g.events.get(seq) {
            Some(e) => format!("#{seq} {} {}", e.kind, e.name),
            None => format!("#{seq}"),
        },
        Node::Artifact { key } => key.clone(),
    }
}

fn id(n: &Node) -> String {
    match n {
        Node::Event { seq } => format!("e{seq}"),
        Node::Artifact { key } => {
            // A stable identifier from the key's bytes: keys hold any character.
            let h = aiaudit_core::sha256(key.as_bytes());
            format!("a{}", hex::encode(&h[..8]))
        }
    }
}

/// One line per edge, upstream first, then the events with their times and leaf hashes.
pub fn to_table(g: &Graph) -> String {
    let mut out = String::new();
    let targets: Vec<String> = g.targets.iter().map(|t| label(g, t)).collect();
    out.push_str(&format!("lineage of {}\n", targets.join(", ")));
    out.push_str(&format!(
        "{} events, {} artifacts, {} links\n\n",
        g.events.len(),
        g.artifacts.len(),
        g.edges.len()
    ));
    out.push_str("FROM\tLINK\tTO\n");
    for e in &g.edges {
        out.push_str(&format!(
            "{}\t{}\t{}\n",
            safe(&label(g, &e.from)),
            e.relation.label(),
            safe(&label(g, &e.to))
        ));
    }
    out.push_str("\nSEQ\tTIME\tTYPE\tSTATUS\tMODEL\tNAME\tLEAF HASH\n");
    for e in g.events.values() {
        out.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
            e.seq,
            e.time,
            safe(&e.kind),
            safe(&e.status),
            safe(e.model.as_deref().unwrap_or("-")),
            safe(&e.name),
            e.leaf_hash
        ));
    }
    for (key, listed) in &g.truncated {
        out.push_str(&format!(
            "\n(only {listed} listed for {}: give --per-artifact to list more)",
            safe(key)
        ));
    }
    if !g.truncated.is_empty() {
        out.push('\n');
    }
    out
}

/// Control characters would break the table's lines and columns.
fn safe(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The graph as JSON (`targets`, `events`, `artifacts`, `edges`, `truncated`).
pub fn to_json(g: &Graph) -> String {
    serde_json::to_string_pretty(g).unwrap_or_default()
}

fn dot_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Graphviz DOT: events as boxes, artifacts as ellipses, edges downstream.
pub fn to_dot(g: &Graph) -> String {
    let mut out = String::from("digraph lineage {\n  rankdir=LR;\n");
    for e in g.events.values() {
        let n = super::Node::Event { seq: e.seq };
        out.push_str(&format!(
            "  {} [shape=box, label=\"{}\"];\n",
            id(&n),
            dot_escape(&label(g, &n))
        ));
    }
    for key in g.artifacts.keys() {
        let n = super::Node::Artifact { key: key.clone() };
        out.push_str(&format!(
            "  {} [shape=ellipse, label=\"{}\"];\n",
            id(&n),
            dot_escape(key)
        ));
    }
    for e in &g.edges {
        out.push_str(&format!(
            "  {} -> {} [label=\"{}\"];\n",
            id(&e.from),
            id(&e.to),
            e.relation.label()
        ));
    }
    out.push_str("}\n");
    out
}

fn mermaid_escape(s: &str) -> String {
    // Mermaid labels in quotes take HTML entities; quotes and angle brackets must be entities.
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("#quot;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '#' => out.push_str("#35;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A Mermaid flowchart, left to right.
pub fn to_mermaid(g: &Graph) -> String {
    let mut out = String::from("flowchart LR\n");
    for e in g.events.values() {
        let n = super::Node::Event { seq: e.seq };
        out.push_str(&format!(
            "  {}[\"{}\"]\n",
            id(&n),
            mermaid_escape(&label(g, &n))
        ));
    }
    for key in g.artifacts.keys() {
        let n = super::Node::Artifact { key: key.clone() };
        out.push_str(&format!("  {}([\"{}\"])\n", id(&n), mermaid_escape(key)));
    }
    for e in &g.edges {
        out.push_str(&format!(
            "  {} -->|{}| {}\n",
            id(&e.from),
            e.relation.label(),
            id(&e.to)
        ));
    }
    out
}
