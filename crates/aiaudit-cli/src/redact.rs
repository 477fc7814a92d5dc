//! `redact`: the log's redaction policy as a filter on standard input.

use aiaudit::keyfile;
use aiaudit::redact::{Policy, Redactor};
use anyhow::{Context, Result};
use serde_json::{Map, Value};
use std::io::{BufRead, Read, Write};

use crate::cli::Cli;

/// The policy of `--policy`, or the default.
fn policy(cli: &Cli) -> Result<Policy> {
    match &cli.policy {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("reading the policy {}", p.display()))?;
            Policy::from_toml(&text).with_context(|| p.display().to_string())
        }
        None => Ok(Policy::default()),
    }
}

/// The log's hashing secret if the log has one, else one for this run only (hashes then
/// correlate within the run, not with the log).
fn secret(cli: &Cli) -> Result<[u8; 32]> {
    let path = aiaudit::location::local_base(&cli.db).with_extension("hmac");
    if path.exists() {
        return Ok(keyfile::load_or_create_secret(&path)?);
    }
    eprintln!(
        "aiaudit: no hashing secret at {}: hashed values correlate within this run only",
        path.display()
    );
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(key)
}

pub fn run(cli: &Cli, json: bool, explain: bool) -> Result<()> {
    let r = Redactor::new(&policy(cli)?, Some(secret(cli)?))?;
    let stdin = std::io::stdin();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if json {
        let mut text = String::new();
        stdin
            .lock()
            .read_to_string(&mut text)
            .context("reading standard input")?;
        let value: Value = aiaudit_core::strict_json::from_str(&text).context(
            "standard input is not one JSON document (without --json, each line is text)",
        )?;
        // Field rules apply to an object's keys; anything else is redacted as the value of one.
        let (mut map, wrapped) = match value {
            Value::Object(m) => (m, false),
            other => (Map::from_iter([("value".to_owned(), other)]), true),
        };
        if explain {
            let (_, changes) = r.explain(&mut String::new(), &mut map);
            for c in changes {
                // A wrapped scalar's path names the wrapper: show it as the document's root.
                let mut c = c;
                if wrapped {
                    c.path = c.path.replacen("details.value", "$", 1);
                } else {
                    c.path = c.path.replacen("details", "$", 1);
                }
                writeln!(out, "{c}")?;
            }
            out.flush()?;
            return Ok(());
        }
        r.redact(&mut String::new(), &mut map);
        let value = if wrapped {
            map.remove("value").unwrap_or(Value::Null)
        } else {
            Value::Object(map)
        };
        writeln!(out, "{}", serde_json::to_string(&value)?)?;
    } else {
        for (n, line) in stdin.lock().lines().enumerate() {
            let line = line.context("reading standard input (it must be UTF-8 text)")?;
            if explain {
                for c in r.explain_str(&line).1 {
                    writeln!(out, "line {} {c}", n + 1)?;
                }
            } else {
                writeln!(out, "{}", r.redact_str(&line))?;
            }
        }
    }
    out.flush()?;
    Ok(())
}
