//! `aiaudit witness serve` as a real process on loopback, for the scenario tests.

use super::{bin, run, stderr, stdout};
use std::path::{Path, PathBuf};
use std::process::Child;

/// A running witness and its files.
pub struct WitnessProc {
    pub child: Child,
    pub url: String,
    pub vkey: String,
    pub key: PathBuf,
    pub logs: PathBuf,
    pub state: PathBuf,
}

pub fn start(key: &Path, logs: &Path, state: &Path, listen: &str) -> (Child, String) {
    let mut cmd = bin();
    cmd.args(["witness", "serve", "--listen", listen, "--key"])
        .arg(key)
        .arg("--logs")
        .arg(logs)
        .arg("--state")
        .arg(state);
    super::listening(cmd)
}

pub fn witness(dir: &Path, name: &str, log_vkey: &str) -> WitnessProc {
    let file = name.replace('/', "-");
    let key = dir.join(format!("{file}.key"));
    let out = bin()
        .args(["witness", "init", "--name", name, "--key"])
        .arg(&key)
        .output()
        .expect("init");
    assert!(out.status.success(), "{}", stderr(&out));
    let vkey = stdout(&out).trim().to_owned();
    let logs = dir.join(format!("{file}.logs.toml"));
    std::fs::write(&logs, format!("[[log]]\nvkey = \"{log_vkey}\"\n")).expect("logs");
    let state = dir.join(format!("{file}.db"));
    let (child, url) = start(&key, &logs, &state, "127.0.0.1:0");
    WitnessProc {
        child,
        url,
        vkey,
        key,
        logs,
        state,
    }
}

/// `aiaudit witness submit` of the log at `db` to `w`: the cosigned note, or the error text.
pub fn submit(db: &Path, w: &WitnessProc) -> Result<String, String> {
    submit_to(db, &w.url, &w.vkey)
}

pub fn submit_to(db: &Path, url: &str, vkey: &str) -> Result<String, String> {
    let out = run(
        db,
        &["witness", "submit", "--url", url, "--witness-key", vkey],
    );
    if out.status.success() {
        Ok(stdout(&out))
    } else {
        Err(stderr(&out))
    }
}
