//! `aiaudit bench-witness`: add-checkpoint requests a witness answers per second, each a new
//! checkpoint of a growing log with its consistency proof (so each is a durable commit), over
//! HTTP on loopback from one client per log, beside the same requests made in-process on one
//! log (the commit's floor).

use aiaudit_core::cosignature::CosignatureSigner;
use aiaudit_core::{Checkpoint, MemoryTree, NoteSigner, consistency_proof, leaf_hash, root_at};
use aiaudit_witness::{AddCheckpoint, Logs, Outcome, Witness};
use anyhow::{Result, bail};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A log the benchmark grows: its key, its tree and the size the witness holds.
struct Grower {
    key: NoteSigner,
    tree: MemoryTree,
    held: u64,
}

impl Grower {
    fn new(i: usize) -> Result<Self> {
        Ok(Grower {
            key: NoteSigner::generate(&format!("bench.example/log{i}"))?,
            tree: MemoryTree::new(),
            held: 0,
        })
    }

    /// The next request: 16 more leaves, signed, proven from what the witness holds.
    fn next(&mut self) -> Result<(u64, String)> {
        let n = self.tree.size();
        for i in 0..16 {
            self.tree.push(leaf_hash(&(n + i).to_be_bytes()));
        }
        let size = self.tree.size();
        let note = Checkpoint {
            origin: self.key.name().to_owned(),
            size,
            root: root_at(&self.tree, size)?,
        }
        .sign(&self.key)?;
        let proof = if self.held == 0 {
            Vec::new()
        } else {
            consistency_proof(&self.tree, self.held, size)?
        };
        let body = AddCheckpoint {
            old: self.held,
            proof,
            checkpoint: note,
        }
        .to_body();
        Ok((size, body))
    }
}

pub fn run(logs: usize, seconds: u64) -> Result<()> {
    let dir = crate::bench::tempdir()?;
    let mut growers: Vec<Grower> = (0..logs.max(1)).map(Grower::new).collect::<Result<_>>()?;
    let keys = growers.iter().map(|g| g.key.verifier());
    let witness = Arc::new(Witness::open(
        &dir.as_path().join("witness.db"),
        CosignatureSigner::generate("bench.example/witness")?,
        Logs::of(keys),
    )?);
    say!(
        "aiaudit bench-witness: {} logs, {seconds} s per measurement, state in {}",
        growers.len(),
        dir.as_path().display()
    );

    // In-process, one log: parse, check, commit (fsync), cosign.
    let mut one = Grower::new(growers.len())?;
    let solo = Arc::new(Witness::open(
        &dir.as_path().join("solo.db"),
        CosignatureSigner::generate("bench.example/solo")?,
        Logs::of([one.key.verifier()]),
    )?);
    let started = Instant::now();
    let mut n = 0u64;
    while started.elapsed() < Duration::from_secs(seconds) {
        let (size, body) = one.next()?;
        match solo.add_checkpoint(body.as_bytes(), 1)? {
            Outcome::Cosigned(_) => one.held = size,
            Outcome::Refused(r) => bail!("refused: {}", r.message()),
        }
        n += 1;
    }
    let direct = n as f64 / started.elapsed().as_secs_f64();
    say!("    in-process, one log                 {direct:>9.0} requests/s");

    // Over HTTP: one client per log, all at once.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let rate = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/add-checkpoint", listener.local_addr()?);
        let app = aiaudit_witness::app(witness);
        tokio::spawn(async move { axum::serve(listener, app).await });
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let started = Instant::now();
        let mut tasks = Vec::new();
        for mut g in growers.drain(..) {
            let (client, url) = (client.clone(), url.clone());
            tasks.push(tokio::spawn(async move {
                let mut n = 0u64;
                while Instant::now() < deadline {
                    let (size, body) = g.next()?;
                    let resp = client.post(&url).body(body).send().await?;
                    if resp.status() != 200 {
                        bail!("refused ({}): {}", resp.status(), resp.text().await?);
                    }
                    g.held = size;
                    n += 1;
                }
                anyhow::Ok(n)
            }));
        }
        let mut total = 0u64;
        for t in tasks {
            total += t.await??;
        }
        anyhow::Ok(total as f64 / started.elapsed().as_secs_f64())
    })?;
    say!(
        "(w) over HTTP, {logs} logs at once           {rate:>9.0} requests/s   target >= 2,000/s   ratio to in-process {:.2}",
        rate / direct
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
