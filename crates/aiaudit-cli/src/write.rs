//! `init` and `log`.

use aiaudit::{AuditLogger, Durability, Event, keyfile};
use aiaudit_core::{Actor, ModelRef, Operation};
use anyhow::{Context, Result, bail};
use serde_json::{Map, Value};

use crate::cli::{Cli, LogArgs};

/// The signer `--signing-command` names.
pub fn command_signer(cmd: &str) -> Result<aiaudit_core::NoteSigner> {
    let argv: Vec<String> = cmd.split_whitespace().map(str::to_owned).collect();
    Ok(aiaudit::signer::CommandSigner::open(argv)?)
}

/// Opens (creating if needed) the log for writing, with the CLI's key path.
pub fn open_logger(cli: &Cli, durability: Durability) -> Result<AuditLogger> {
    Ok(logger_builder(cli, durability)?.open()?)
}

/// The builder [`open_logger`] opens, for a command that sets more.
pub fn logger_builder(cli: &Cli, durability: Durability) -> Result<aiaudit::AuditLoggerBuilder> {
    // A one-shot command fails on an outage (a full disk) rather than wait for it to pass.
    let mut b = AuditLogger::builder(&cli.db)
        .durability(durability)
        .outage_limit(std::time::Duration::from_secs(3));
    if let Some(k) = &cli.signing_key {
        b = b.signing_key_path(k);
    }
    if let Some(cmd) = &cli.signing_command {
        b = b.signing_key(command_signer(cmd)?);
    }
    if let Some(p) = &cli.policy {
        b = b.redaction_policy_file(p);
    }
    Ok(b)
}

pub fn init(cli: &Cli, origin: Option<String>) -> Result<()> {
    let exists = match aiaudit::location::postgres_url(&cli.db) {
        Some(url) => aiaudit_postgres::PostgresStore::exists(url)?,
        None => cli.db.exists(),
    };
    if exists {
        return init_side_files(cli, origin.is_some());
    }
    let mut b = AuditLogger::builder(&cli.db).durability(Durability::Sync);
    if let Some(k) = &cli.signing_key {
        b = b.signing_key_path(k);
    }
    if let Some(cmd) = &cli.signing_command {
        b = b.signing_key(command_signer(cmd)?);
    }
    if let Some(p) = &cli.policy {
        b = b.redaction_policy_file(p);
    }
    if let Some(o) = origin {
        b = b.origin(o);
    }
    let log = b.open()?;
    let key_path = cli
        .signing_key
        .clone()
        .unwrap_or_else(|| keyfile::default_key_path(&cli.db));
    say!("created {}", aiaudit::location::display(&cli.db));
    say!(
        "signing key: {} (mode 0600; keep it secret and backed up)",
        key_path.display()
    );
    say!("verifier key: {}", log.info().verifier_key);
    log.close()?;
    Ok(())
}

/// `init` on an existing log: makes the redaction secret (and, when the policy encrypts, the
/// subject key file) if one is missing, and records in the log that it did. Nothing else: an
/// existing log keeps its key and origin.
fn init_side_files(cli: &Cli, origin_given: bool) -> Result<()> {
    let shown = aiaudit::location::display(&cli.db);
    let base = aiaudit::location::local_base(&cli.db);
    let hmac = base.with_extension("hmac");
    let keys = aiaudit_sqlite::default_keys_path(&base);
    let policy = match &cli.policy {
        Some(p) => {
            let text =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            aiaudit_core::redact::Policy::from_toml(&text)
                .with_context(|| format!("{}", p.display()))?
        }
        None => aiaudit_core::redact::Policy::default(),
    };
    let mut missing = Vec::new();
    // The builder makes the secret only for a policy that redacts.
    if policy.enabled && !hmac.exists() {
        missing.push(("redaction secret", hmac));
    }
    if policy.uses_encryption() && !keys.exists() {
        missing.push(("subject key file", keys));
    }
    if missing.is_empty() {
        bail!(
            "{shown} already exists{}; `aiaudit verifier-key` prints its key",
            if origin_given {
                " (and keeps its origin)"
            } else {
                ""
            }
        );
    }
    let mut b = AuditLogger::builder(&cli.db)
        .durability(Durability::Sync)
        .create_side_files(true);
    if let Some(k) = &cli.signing_key {
        b = b.signing_key_path(k);
    }
    if let Some(cmd) = &cli.signing_command {
        b = b.signing_key(command_signer(cmd)?);
    }
    if let Some(p) = &cli.policy {
        b = b.redaction_policy_file(p);
    }
    let log = b.open()?;
    for (what, path) in &missing {
        let mut e = Event::new("admin", format!("new {what} created"))
            .status(aiaudit_core::Status::Notice)
            .detail("file", path.display().to_string())
            .detail(
                "consequence",
                match *what {
                    "redaction secret" => {
                        "values hashed from now on do not match those hashed before"
                    }
                    _ => "fields encrypted before cannot be decrypted with the new keys",
                },
            );
        e.actor = Some(Actor {
            service: Some("aiaudit init".into()),
            ..Actor::default()
        });
        log.log(e)?;
        say!(
            "created {what} {} (mode 0600; keep it backed up)",
            path.display()
        );
    }
    log.close()?;
    say!("recorded in {shown} as an `admin` event");
    Ok(())
}

/// Parses `--detail key=value`: the value as JSON where it parses, else as text.
fn parse_detail(s: &str) -> Result<(String, Value)> {
    let (k, v) = s
        .split_once('=')
        .with_context(|| format!("--detail {s:?}: expected KEY=VALUE"))?;
    if k.is_empty() {
        bail!("--detail {s:?}: the key is empty");
    }
    // Text that is not JSON is kept as text; JSON with a key twice is refused, not cut down.
    let value = match aiaudit_core::strict_json::from_str(v) {
        Ok(v) => v,
        Err(e) if e.to_string().contains("duplicate key") => {
            bail!("--detail {k}: {e}")
        }
        Err(_) => Value::String(v.to_owned()),
    };
    Ok((k.to_owned(), value))
}

pub fn log(cli: &Cli, args: &LogArgs) -> Result<()> {
    // Everything is checked before the log is opened, so bad input never creates a file.
    let mut details = match &args.details_json {
        Some(j) => match aiaudit_core::strict_json::from_str(j)
            .with_context(|| format!("--details-json is not valid JSON: {j}"))?
        {
            Value::Object(m) => m,
            other => bail!("--details-json must be a JSON object, not {other}"),
        },
        None => Map::new(),
    };
    for d in &args.details {
        let (k, v) = parse_detail(d)?;
        details.insert(k, v);
    }
    // The CLI registers no custom statuses: the seven standard ones are all it accepts.
    let status = aiaudit_core::Status::parse(&args.status, &[])?;
    let mut event = Event::new(args.kind.clone(), args.name.clone()).status(status);
    event.details = details;
    if let Some(u) = &args.user {
        event.actor = Some(Actor {
            user: Some(u.clone()),
            ..Actor::default()
        });
    }
    if let Some(m) = &args.model {
        let (name, version) = match m.split_once('@') {
            Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
            None => (m.clone(), None),
        };
        event.model = Some(ModelRef { name, version });
    }
    event.subject.clone_from(&args.subject);
    if let Some(op) = &args.operation {
        event.operation = Some(Operation {
            id: Some(op.clone()),
            name: None,
        });
    }
    aiaudit::validate(&event)?;
    if let Some(server) = &args.server {
        return crate::serve::log_remote(server, args, &event);
    }
    let log = open_logger(cli, Durability::Sync)?;
    let seq = log.log(event)?;
    log.close()?;
    if let Some(seq) = seq {
        let entry = aiaudit::LogReader::open(&cli.db)?.get(seq)?;
        say!("logged seq {seq} id {}", entry.id);
    }
    Ok(())
}
