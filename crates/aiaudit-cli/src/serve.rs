//! `serve`, `token` and `log --server`.

use aiaudit::Event;
use aiaudit_server::{Role, Server, ServerConfig};
use aiaudit_sqlite::TokenFile;
use anyhow::{Context, Result, bail};
use serde_json::{Map, Value, json};
use std::path::Path;

use crate::cli::{Cli, LogArgs, ServeArgs, SinksCommand, TokenCommand};

/// The server settings: the configuration file if any, then the command line over it.
fn config(cli: &Cli, file: Option<&Path>) -> Result<ServerConfig> {
    let mut c = match file {
        Some(f) => ServerConfig::from_file(f)?,
        None => ServerConfig::new(&cli.db),
    };
    if cli.db_given || file.is_none() {
        c.db.clone_from(&cli.db);
    }
    if let Some(cmd) = &cli.signing_command {
        c.signing_command = Some(cmd.split_whitespace().map(str::to_owned).collect());
        c.signing_key = None;
    }
    if let Some(k) = &cli.signing_key {
        c.signing_key = Some(k.clone());
    }
    if let Some(p) = &cli.policy {
        let text =
            std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
        c.policy_toml = Some((p.clone(), text));
    }
    Ok(c)
}

pub fn serve(cli: &Cli, args: &ServeArgs) -> Result<()> {
    let mut c = config(cli, args.config.as_deref())?;
    if let Some(l) = args.listen {
        c.listen = l;
    }
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        c.tls = Some((cert.clone(), key.clone()));
    }
    if let Some(url) = &args.ingest {
        c.nats = Some(aiaudit_server::NatsIngest::new(url.clone()));
    }
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("aiaudit-http")
        .build()?;
    runtime.block_on(async {
        let db = c.db.clone();
        let server = Server::start(c).await?;
        let tokens = TokenFile::open(&server.tokens_path(), true)?.list()?;
        let active = tokens.iter().filter(|t| t.revoked_ns.is_none()).count();
        say!(
            "aiaudit serve: listening on {} (log {}, {active} active tokens)",
            server.url(),
            aiaudit::location::display(&db)
        );
        say!("verifier key: {}", server.verifier_key());
        if active == 0 {
            eprintln!(
                "aiaudit: no API tokens yet: create one with `aiaudit --db {} token create --role admin --name NAME`",
                db.display()
            );
        }
        let size = server.run_until_signal().await?;
        eprintln!("aiaudit serve: stopped; the log holds {size} entries, all committed");
        Ok(())
    })
}

pub fn token(cli: &Cli, file: Option<&Path>, cmd: &TokenCommand) -> Result<()> {
    let c = config(cli, file)?;
    let path = c.tokens_path();
    let now = aiaudit_core::timefmt::now_ns();
    match cmd {
        TokenCommand::Create { role, name } => {
            if Role::parse(role).is_none() {
                bail!("unknown role {role:?}: use ingest, read, audit or admin");
            }
            let tokens = TokenFile::open(&path, true)?;
            let (info, token) = tokens.create(name, role, now)?;
            say!("{token}");
            eprintln!(
                "token {} ({}, role {}) created; it is shown this once and stored only as a hash in {}",
                info.id,
                info.name,
                info.role,
                path.display()
            );
        }
        TokenCommand::List => {
            let tokens = TokenFile::open(&path, false)?;
            say!(
                "{:<12}  {:<7}  {:<30}  {:<30}  name",
                "id",
                "role",
                "created",
                "revoked"
            );
            for t in tokens.list()? {
                say!(
                    "{:<12}  {:<7}  {:<30}  {:<30}  {}",
                    t.id,
                    t.role,
                    aiaudit_core::timefmt::format_rfc3339(t.created_ns),
                    t.revoked_ns
                        .map(aiaudit_core::timefmt::format_rfc3339)
                        .unwrap_or_else(|| "-".into()),
                    t.name
                );
            }
        }
        TokenCommand::Revoke { token } => {
            let tokens = TokenFile::open(&path, false)?;
            let t = tokens.revoke(token, now)?;
            say!("revoked token {} ({}, role {})", t.id, t.name, t.role);
        }
    }
    Ok(())
}

/// Sends one event to a server and waits for its commit.
pub fn log_remote(server: &str, args: &LogArgs, event: &Event) -> Result<()> {
    let Some(token) = &args.token else {
        bail!("--server needs --token (or AIAUDIT_TOKEN): a token with role ingest");
    };
    let ca = match &args.ca_cert {
        Some(p) => Some(std::fs::read(p).with_context(|| format!("reading {}", p.display()))?),
        None => None,
    };
    let mut body = Map::new();
    body.insert("type".into(), json!(event.kind));
    body.insert("name".into(), json!(event.name));
    body.insert("status".into(), json!(event.status.as_str()));
    if !event.details.is_empty() {
        body.insert("details".into(), Value::Object(event.details.clone()));
    }
    if let Some(a) = &event.actor {
        body.insert("actor".into(), serde_json::to_value(a)?);
    }
    if let Some(m) = &event.model {
        body.insert("model".into(), serde_json::to_value(m)?);
    }
    if let Some(o) = &event.operation {
        body.insert("operation".into(), serde_json::to_value(o)?);
    }
    if let Some(s) = &event.subject {
        body.insert("subject".into(), json!(s));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let receipt = runtime.block_on(async {
        let client = aiaudit_client::Client::with_options(
            server,
            token,
            ca.as_deref(),
            aiaudit_client::RetryPolicy::default(),
        )?;
        client.send(&[Value::Object(body)], true).await
    })?;
    say!(
        "logged seq {} id {} on {server}",
        receipt.seqs.first().copied().unwrap_or_default(),
        receipt.ids.first().map(String::as_str).unwrap_or("")
    );
    Ok(())
}

/// `aiaudit sinks status`.
pub fn sinks(cli: &Cli, file: &Path, command: &SinksCommand) -> Result<()> {
    let SinksCommand::Status = command;
    let c = config(cli, Some(file))?;
    let ac = &c.after_commit;
    let sinks = aiaudit_sinks::setup::from_config(ac.sinks.as_ref(), ac.alerts.as_ref(), None)?;
    if sinks.is_empty() {
        bail!(
            "{} configures no [[sinks]] and no [[alerts]]",
            file.display()
        );
    }
    let cursors = aiaudit_sinks::setup::cursor_path(&c.db);
    let rows = aiaudit_sinks::status(&c.db, &cursors, &sinks)?;
    say!(
        "{:<16} {:<8} {:>12} {:>12} {:>10}  {:<30}  LAST ERROR",
        "SINK",
        "KIND",
        "DELIVERED",
        "LOG SIZE",
        "LAG",
        "UPDATED"
    );
    for r in rows {
        let updated = r
            .updated_ns
            .map(aiaudit_core::timefmt::format_rfc3339)
            .unwrap_or_else(|| "never".into());
        say!(
            "{:<16} {:<8} {:>12} {:>12} {:>10}  {:<30}  {}",
            r.name,
            r.kind,
            r.next_seq,
            r.log_size,
            r.lag,
            updated,
            r.last_error.as_deref().unwrap_or("-")
        );
    }
    Ok(())
}
