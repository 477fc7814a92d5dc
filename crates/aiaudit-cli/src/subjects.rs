//! `forget` and `subject`: erasure and subject access.

use aiaudit::{Durability, LogReader};
use aiaudit_sqlite::{SubjectKeyFile, default_keys_path};
use anyhow::Result;
use serde_json::Value;

use crate::cli::{Cli, SubjectFormat};
use crate::write::open_logger;

fn key_file(cli: &Cli) -> Result<Option<SubjectKeyFile>> {
    let path = default_keys_path(&aiaudit::location::local_base(&cli.db));
    if !path.exists() {
        return Ok(None);
    }
    Ok(Some(SubjectKeyFile::open(&path, false)?))
}

pub fn forget(cli: &Cli, subject: &str, reason: Option<&str>) -> Result<()> {
    if subject.trim().is_empty() {
        anyhow::bail!("--subject must name a data subject");
    }
    let log = open_logger(cli, Durability::Sync)?;
    let (existed, seq) = aiaudit::subjects::forget(&log, subject, reason)?;
    log.close()?;
    if existed {
        say!(
            "destroyed the key of data subject {subject:?}: its encrypted fields now read as [ERASED]"
        );
    } else {
        say!(
            "data subject {subject:?} had no key (nothing of theirs was encrypted, or it was already destroyed)"
        );
    }
    say!("the erasure is recorded as event {seq}");
    Ok(())
}

pub fn access(cli: &Cli, subject: &str, format: SubjectFormat) -> Result<()> {
    let reader = LogReader::open(&cli.db)?;
    let keys = key_file(cli)?;
    let report = aiaudit::subjects::subject_access(&reader, keys.as_ref(), subject)?;
    match format {
        SubjectFormat::Json => say!("{}", serde_json::to_string_pretty(&report)?),
        SubjectFormat::Md => markdown(&report)?,
    }
    Ok(())
}

fn list(v: &Value) -> String {
    match v.as_object() {
        Some(m) if !m.is_empty() => m
            .iter()
            .map(|(k, n)| format!("{k} ({n})"))
            .collect::<Vec<_>>()
            .join(", "),
        _ => "none".into(),
    }
}

fn markdown(r: &Value) -> Result<()> {
    let s = &r["summary"];
    say!(
        "# Data subject access report: {}",
        r["subject"].as_str().unwrap_or("")
    );
    say!();
    say!("- events: {}", s["count"]);
    say!(
        "- period: {} to {}",
        s["first"].as_str().unwrap_or("-"),
        s["last"].as_str().unwrap_or("-")
    );
    say!("- event types: {}", list(&s["types"]));
    say!("- purposes: {}", list(&s["purposes"]));
    say!("- models: {}", list(&s["models"]));
    say!("- users: {}", list(&s["users"]));
    say!(
        "- encrypted fields: {} decrypted, {} erased (subject key: {})",
        s["encrypted_fields"]["decrypted"],
        s["encrypted_fields"]["erased"],
        s["key"].as_str().unwrap_or("?")
    );
    say!();
    say!("| seq | time | type | status | name | details |");
    say!("| --- | --- | --- | --- | --- | --- |");
    for e in r["events"].as_array().into_iter().flatten() {
        let details = serde_json::to_string(&e["details"])?.replace('|', "\\|");
        say!(
            "| {} | {} | {} | {} | {} | `{}` |",
            e["seq"],
            e["time"].as_str().unwrap_or(""),
            e["type"].as_str().unwrap_or(""),
            e["status"].as_str().unwrap_or(""),
            e["name"].as_str().unwrap_or("").replace('|', "\\|"),
            details
        );
    }
    Ok(())
}
