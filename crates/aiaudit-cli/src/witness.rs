//! `aiaudit witness`: a witness's key, the witness itself (c2sp.org/tlog-witness over HTTP),
//! and showing this log's latest checkpoint to a witness to get it cosigned.

use aiaudit_core::cosignature::{CosignatureSigner, CosignatureVerifier};
use aiaudit_witness::{Logs, Submitted, Witness, WitnessTarget};
use anyhow::{Context, Result, bail};
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;
use std::sync::Arc;

use crate::cli::{Cli, WitnessCommand};
use crate::read::reader;

pub fn run(cli: &Cli, cmd: &WitnessCommand) -> Result<()> {
    match cmd {
        WitnessCommand::Init { name, key } => init(name, key),
        WitnessCommand::VerifierKey { key } => {
            say!("{}", load_key(key)?.verifier());
            Ok(())
        }
        WitnessCommand::Serve {
            listen,
            key,
            logs,
            state,
        } => serve(listen, key, logs, state),
        WitnessCommand::Submit {
            url,
            witness_key,
            output,
        } => submit(cli, url, witness_key, output.as_deref()),
    }
}

fn init(name: &str, path: &Path) -> Result<()> {
    let key = CosignatureSigner::generate(name)?;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| {
            format!(
                "creating {} (an existing key is never overwritten)",
                path.display()
            )
        })?;
    f.write_all(format!("{}\n", key.to_private_string()).as_bytes())?;
    f.sync_all()?;
    say!("{}", key.verifier());
    eprintln!(
        "aiaudit witness: key written to {}; give the verifier key above to the logs you witness and to their verifiers",
        path.display()
    );
    Ok(())
}

fn load_key(path: &Path) -> Result<CosignatureSigner> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the witness key {}", path.display()))?;
    CosignatureSigner::parse(&text).with_context(|| format!("the witness key {}", path.display()))
}

fn serve(listen: &str, key: &Path, logs: &Path, state: &Path) -> Result<()> {
    let signer = load_key(key)?;
    let logs = Logs::load(logs)?;
    let count = logs.len();
    let witness = Arc::new(Witness::open(state, signer, logs)?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("aiaudit-witness")
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("listening on {listen}"))?;
        say!(
            "aiaudit witness: listening on http://{} ({count} logs, state {})",
            listener.local_addr()?,
            state.display()
        );
        say!("witness key: {}", witness.verifier_key());
        axum::serve(listener, aiaudit_witness::app(witness))
            .with_graceful_shutdown(async {
                let mut term =
                    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
                }
            })
            .await
            .context("serving")?;
        eprintln!("aiaudit witness: stopped");
        Ok(())
    })
}

/// Shows the log's latest checkpoint to the witness at `url`, from the size the witness holds
/// (learnt from its 409 answer), and prints the checkpoint with the witness's cosignature
/// once it verifies with `witness_key`.
fn submit(cli: &Cli, url: &str, witness_key: &str, output: Option<&Path>) -> Result<()> {
    let verifier = CosignatureVerifier::parse(witness_key).context("--witness-key")?;
    let r = reader(cli)?;
    let cp = r.checkpoint()?;
    let target = WitnessTarget {
        name: verifier.name().to_owned(),
        url: url.to_owned(),
        key: verifier,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()?;
    let mut old = 0u64;
    for _attempt in 0..3 {
        let proof = if old == 0 || old == cp.size {
            Vec::new()
        } else {
            r.prove_consistency(old, Some(cp.size))?.proof
        };
        let answer = runtime.block_on(aiaudit_witness::submit(
            &client, &target, &cp.note, cp.size, old, proof,
        ))?;
        match answer {
            Submitted::Cosigned { note, time, .. } => {
                match output {
                    Some(path) => {
                        std::fs::write(path, &note)
                            .with_context(|| format!("writing {}", path.display()))?;
                        eprintln!(
                            "aiaudit witness: {} cosigned size {} at {time}; written to {}",
                            target.name,
                            cp.size,
                            path.display()
                        );
                    }
                    None => say_raw!("{note}"),
                }
                return Ok(());
            }
            Submitted::Holds(n) => old = n,
            Submitted::Refused(why) => bail!("the witness refused this log's checkpoint: {why}"),
        }
    }
    bail!("the witness kept changing the size it holds; try again")
}
