//! `key rotate`, `key retire`, `key list`: the log's signing key across a rotation
//! (docs/key-rotation.md).

use aiaudit::keys::{next_key_path, retired_key_path};
use aiaudit::{Durability, keyfile};
use aiaudit_core::NoteSigner;
use aiaudit_core::keys::KeyHistory;
use anyhow::{Context, Result, bail};
use std::path::PathBuf;

use crate::cli::{Cli, KeyCommand};
use crate::read::reader;
use crate::write::logger_builder;

pub fn run(cli: &Cli, cmd: &KeyCommand) -> Result<()> {
    if cli.signing_command.is_some() {
        bail!(
            "key rotation works on key files; a key held by --signing-command is rotated where it is kept (make the new key there, then sign with both: see docs/key-rotation.md)"
        );
    }
    match cmd {
        KeyCommand::Rotate => rotate(cli),
        KeyCommand::Retire => retire(cli),
        KeyCommand::List { json } => list(cli, *json),
    }
}

fn key_path(cli: &Cli) -> PathBuf {
    cli.signing_key
        .clone()
        .unwrap_or_else(|| keyfile::default_key_path(&cli.db))
}

fn history(cli: &Cli) -> Result<KeyHistory> {
    Ok(reader(cli)?.key_history()?)
}

/// Makes the next key (or takes the one an interrupted rotation left) and records it.
fn rotate(cli: &Cli) -> Result<()> {
    let key = key_path(cli);
    let next = next_key_path(&key);
    let history = history(cli)?;
    let current = keyfile::load(&key).with_context(|| {
        format!(
            "the log's key file {} (a rotation signs with the key the log signs with now)",
            key.display()
        )
    })?;
    if !history.current().contains(&current.verifier()) {
        bail!(
            "{} holds {}, which the log {} does not sign with now",
            key.display(),
            current.verifier(),
            aiaudit::location::display(&cli.db)
        );
    }
    let new = if next.exists() {
        let n = keyfile::load(&next)?;
        if history.span(&n.verifier()).is_some() {
            bail!(
                "a rotation is already under way: {} ({}) signs beside {}; finish it with `aiaudit key retire`",
                next.display(),
                n.verifier(),
                current.verifier()
            );
        }
        // A rotation stopped after making the key and before recording it: record it now.
        n
    } else {
        let n = NoteSigner::generate(history.origin())?;
        keyfile::create(&next, &n)?;
        n
    };
    // The builder loads both files: from here on every checkpoint carries both signatures.
    let log = logger_builder(cli, Durability::Sync)?.open()?;
    let done = aiaudit::keys::rotate(&log, std::slice::from_ref(&current), &new)?;
    log.close()?;
    say!("rotation started at seq {}", done.seq);
    say!(
        "new signing key: {} (mode 0600; keep it secret and backed up)",
        next.display()
    );
    say!("new verifier key: {}", new.verifier());
    say!(
        "checkpoints now carry both signatures; give the new verifier key to your auditors and witnesses, then run `aiaudit key retire`"
    );
    Ok(())
}

/// Records the old key's retirement, signed by the new key alone, then puts the new key in
/// the key file's place.
fn retire(cli: &Cli) -> Result<()> {
    let key = key_path(cli);
    let next = next_key_path(&key);
    let history = history(cli)?;
    if !next.exists() {
        bail!(
            "no rotation is under way: {} does not exist (start one with `aiaudit key rotate`)",
            next.display()
        );
    }
    let new = keyfile::load(&next)?;
    if history.span(&new.verifier()).is_none() {
        bail!(
            "{} ({}) was never recorded in the log: run `aiaudit key rotate` again to record it",
            next.display(),
            new.verifier()
        );
    }
    let old = match keyfile::load(&key) {
        Ok(k) => Some(k.verifier()),
        // A retirement stopped between its renames: only the last rename is left.
        Err(_) if !key.exists() => None,
        Err(e) => return Err(e.into()),
    };
    let mut retired = None;
    if let Some(old) = old {
        if history.current().contains(&old) {
            let log = logger_builder(cli, Durability::Sync)?
                .signing_keys(vec![new.clone()])
                .open()?;
            let done = aiaudit::keys::retire(&log, std::slice::from_ref(&new), &old)?;
            log.close()?;
            say!("retired {old} at seq {}", done.seq);
        }
        let to = retired_key_path(&key, &old);
        std::fs::rename(&key, &to)
            .with_context(|| format!("moving {} to {}", key.display(), to.display()))?;
        retired = Some(to);
    }
    std::fs::rename(&next, &key)
        .with_context(|| format!("moving {} to {}", next.display(), key.display()))?;
    say!("signing key: {} ({})", key.display(), new.verifier());
    if let Some(to) = retired {
        say!(
            "the old key is in {}: it signs nothing more; destroy it, or keep it offline if your policy asks",
            to.display()
        );
    }
    Ok(())
}

fn list(cli: &Cli, json: bool) -> Result<()> {
    let history = history(cli)?;
    let rows: Vec<serde_json::Value> = history
        .spans()
        .iter()
        .map(|s| {
            serde_json::json!({
                "key": s.key.to_string(),
                "added_at_seq": s.added,
                "retired_at_seq": s.retired,
                // Checkpoint sizes the key may sign: (added, retired].
                "valid_from_size": s.added.map_or(0, |a| a + 1),
                "valid_until_size": s.retired,
                "state": if s.retired.is_some() { "retired" } else { "signing" },
            })
        })
        .collect();
    if json {
        say!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    for s in history.spans() {
        let from = s.added.map_or(0, |a| a + 1);
        let window = match s.retired {
            Some(r) => format!("checkpoints of size {from}..={r}; retired at seq {r}"),
            None => format!("checkpoints of size {from} and up; signing"),
        };
        say!("{}  {window}", s.key);
    }
    Ok(())
}
