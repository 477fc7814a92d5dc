//! `query`, `show`, `tail`, `checkpoint`, `verifier-key`.

use aiaudit::{LogReader, Query, Record, StoredEntry};
use aiaudit_core::timefmt::{DayEdge, now_ns, parse_bound};
use anyhow::{Result, bail};
use std::io::Write;
use std::time::Duration;

use crate::cli::{Cli, FilterArgs, Format, QueryArgs, ShowFormat};
use crate::output;

pub fn reader(cli: &Cli) -> Result<LogReader> {
    Ok(LogReader::open(&cli.db)?)
}

/// The index key of an artifact option.
fn artifact_key(name: &str, v: &Option<String>) -> Result<Option<String>> {
    v.as_deref()
        .map(|t| {
            aiaudit_core::lineage::Artifact::parse(t)
                .map(|a| a.key())
                .ok_or_else(|| anyhow::anyhow!("{name} {t:?} names no artifact"))
        })
        .transpose()
}

/// The query the filters ask for (no limit, oldest first).
pub fn filter_query(a: &FilterArgs) -> Result<Query> {
    let now = now_ns();
    Ok(Query {
        kind: a.kind.clone(),
        status: a.status.as_ref().map(|s| s.to_ascii_uppercase()),
        model: a.model.clone(),
        user: a.user.clone(),
        operation: a.operation.clone(),
        subject: a.subject.clone(),
        input_hash: a.input_hash.clone(),
        ingest_id: None,
        uses: artifact_key("--uses", &a.uses)?,
        makes: artifact_key("--makes", &a.makes)?,
        since_ns: a
            .since
            .as_deref()
            .map(|s| parse_bound(s, DayEdge::Start, now))
            .transpose()?,
        until_ns: a
            .until
            .as_deref()
            .map(|s| parse_bound(s, DayEdge::End, now))
            .transpose()?,
        after_seq: None,
        before_seq: None,
        descending: false,
        limit: 0,
    })
}

pub fn query(cli: &Cli, a: &QueryArgs) -> Result<()> {
    let q = Query {
        descending: a.desc,
        limit: a.limit,
        ..filter_query(&a.filter)?
    };
    let entries = reader(cli)?.query(&q)?;
    print_entries(a.format, &entries, a.raw_csv)
}

fn print_entries(format: Format, entries: &[StoredEntry], raw_csv: bool) -> Result<()> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    output::header(&mut out, format)?;
    for (i, e) in entries.iter().enumerate() {
        output::entry(&mut out, format, e, i == 0, raw_csv)?;
    }
    output::footer(&mut out, format, entries.len())?;
    out.flush()?;
    Ok(())
}

pub fn show(cli: &Cli, target: &str, format: ShowFormat) -> Result<()> {
    let r = reader(cli)?;
    let entry = match target.parse::<u64>() {
        Ok(seq) => r.get(seq)?,
        Err(_) if target.len() == 36 => r.get_by_id(target)?,
        Err(_) => bail!("{target:?} is neither a seq number nor an event id"),
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match format {
        ShowFormat::Json => {
            // The exact leaf data: its SHA-256 with a 0x00 prefix is the leaf hash.
            out.write_all(&entry.data)?;
            out.write_all(b"\n")?;
        }
        ShowFormat::Pretty => {
            let rec = Record::from_leaf_data(&entry.data)?;
            writeln!(out, "seq        {}", entry.seq)?;
            writeln!(out, "leaf hash  {}", hex(&entry.leaf_hash))?;
            // JSON escapes C0 controls; C1 controls and bidirectional overrides it leaves.
            let pretty = serde_json::to_string_pretty(&rec)?;
            writeln!(out, "{}", crate::safe_text::terminal_lines(&pretty))?;
        }
    }
    Ok(())
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub fn tail(cli: &Cli, follow: bool, lines: usize, format: Format, raw_csv: bool) -> Result<()> {
    let r = reader(cli)?;
    // `limit: 0` means "all" to a query; `-n 0` means none.
    let mut recent = if lines == 0 {
        Vec::new()
    } else {
        r.query(&Query {
            descending: true,
            limit: lines,
            ..Query::default()
        })?
    };
    recent.reverse();
    let mut last = match recent.last() {
        Some(e) => Some(e.seq),
        None => r.size()?.checked_sub(1),
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if format != Format::Json {
        output::header(&mut out, format)?;
    }
    let as_lines = if format == Format::Json {
        Format::Jsonl
    } else {
        format
    };
    for e in &recent {
        output::entry(&mut out, as_lines, e, false, raw_csv)?;
    }
    out.flush()?;
    if !follow {
        return Ok(());
    }
    loop {
        std::thread::sleep(Duration::from_millis(250));
        let new = r.query(&Query {
            after_seq: last,
            limit: 10_000,
            ..Query::default()
        })?;
        for e in &new {
            output::entry(&mut out, as_lines, e, false, raw_csv)?;
            last = Some(e.seq);
        }
        out.flush()?;
    }
}

pub fn checkpoint(cli: &Cli) -> Result<()> {
    say_raw!("{}", reader(cli)?.checkpoint()?.note);
    Ok(())
}

/// The keys the log signs with now, one a line: two during a key rotation.
pub fn verifier_key(cli: &Cli) -> Result<()> {
    for k in reader(cli)?.key_history()?.current() {
        say!("{k}");
    }
    Ok(())
}
