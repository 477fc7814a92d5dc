//! Printing entries as a table, JSON, JSON lines or CSV.

use aiaudit::{Record, StoredEntry};
use aiaudit_core::timefmt::format_rfc3339;
use anyhow::Result;
use std::io::Write;

use crate::cli::Format;
use crate::safe_text::{csv_cell, terminal};

fn record(e: &StoredEntry) -> Result<Record> {
    Record::from_leaf_data(&e.data).map_err(|err| {
        anyhow::anyhow!(
            "seq {}: the stored record does not parse ({err}); run `aiaudit verify`",
            e.seq
        )
    })
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(n - 1).collect();
        out.push('…');
        out
    }
}

/// Writes the table header (for formats that have one).
pub fn header(out: &mut impl Write, format: Format) -> Result<()> {
    match format {
        Format::Table => writeln!(
            out,
            "{:>8}  {:<30}  {:<20}  {:<8}  {:<18}  {:<12}  NAME",
            "SEQ", "TIME", "TYPE", "STATUS", "MODEL", "USER"
        )?,
        Format::Csv => writeln!(
            out,
            "seq,id,time,type,status,name,model,model_version,user,operation,subject,details"
        )?,
        Format::Json => write!(out, "[")?,
        Format::Jsonl => {}
    }
    Ok(())
}

/// Writes one entry; `first` matters for the JSON array's commas. Table cells are escaped for
/// the terminal and CSV cells neutralised for spreadsheets (unless `raw_csv`); JSON and JSON
/// lines are the stored bytes.
pub fn entry(
    out: &mut impl Write,
    format: Format,
    e: &StoredEntry,
    first: bool,
    raw_csv: bool,
) -> Result<()> {
    match format {
        Format::Jsonl => {
            out.write_all(&e.data)?;
            out.write_all(b"\n")?;
        }
        Format::Json => {
            if !first {
                write!(out, ",")?;
            }
            write!(out, "\n  ")?;
            out.write_all(&e.data)?;
        }
        Format::Table => {
            let r = record(e)?;
            writeln!(
                out,
                "{:>8}  {:<30}  {:<20}  {:<8}  {:<18}  {:<12}  {}",
                e.seq,
                format_rfc3339(e.time_ns),
                clip(&terminal(&r.kind), 20),
                clip(&terminal(&r.status), 8),
                clip(
                    &terminal(r.model.as_ref().map_or("", |m| m.name.as_str())),
                    18
                ),
                clip(&terminal(e.user.as_deref().unwrap_or("")), 12),
                clip(&terminal(&r.name), 60)
            )?;
        }
        Format::Csv => {
            let r = record(e)?;
            let model = r.model.as_ref();
            let fields = [
                e.seq.to_string(),
                r.id.clone(),
                r.time.clone(),
                r.kind.clone(),
                r.status.clone(),
                r.name.clone(),
                model.map(|m| m.name.clone()).unwrap_or_default(),
                model.and_then(|m| m.version.clone()).unwrap_or_default(),
                e.user.clone().unwrap_or_default(),
                e.op_id
                    .clone()
                    .or_else(|| e.op_name.clone())
                    .unwrap_or_default(),
                e.subject.clone().unwrap_or_default(),
                serde_json::to_string(&r.details)?,
            ];
            let line: Vec<String> = fields.iter().map(|f| csv_cell(f, raw_csv)).collect();
            writeln!(out, "{}", line.join(","))?;
        }
    }
    Ok(())
}

/// Closes what `header` opened.
pub fn footer(out: &mut impl Write, format: Format, count: usize) -> Result<()> {
    if format == Format::Json {
        writeln!(out, "{}]", if count > 0 { "\n" } else { "" })?;
    }
    Ok(())
}
