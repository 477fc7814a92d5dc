//! `aiaudit serve` SIGKILLed again and again under four clients that wait for commit and retry
//! by idempotency key: every event sent ends up in the log exactly once, and the log verifies.
//!
//! The kills land where a lost answer hurts most: a proxy between the clients and the server
//! swallows an answer the server has just sent (its batch committed), closes the connection
//! and has the server killed at once, so that the client's retry reaches a restarted server,
//! which has forgotten the keys it saw and must recognise the batch by the key recorded with it.

mod common;

use common::{run, serve_config, stderr, stdout, stop};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

const CLIENTS: usize = 4;
const BATCHES: usize = 60;
const PER_BATCH: usize = 25;
const KILLS: usize = 20;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Forwards `listen` to `127.0.0.1:upstream`. Every `every`-th answer from the server is
/// swallowed instead (the client sees its connection close) and `kill` is raised, up to `max`
/// times; while `kill` is raised, new connections are refused.
fn proxy(
    listen: TcpListener,
    upstream: u16,
    every: usize,
    max: usize,
    kill: Arc<AtomicBool>,
) -> Arc<AtomicUsize> {
    let swallowed = Arc::new(AtomicUsize::new(0));
    let answers = Arc::new(AtomicUsize::new(0));
    let out = Arc::clone(&swallowed);
    std::thread::spawn(move || {
        for client in listen.incoming() {
            let Ok(client) = client else { continue };
            if kill.load(Ordering::SeqCst) {
                continue; // dropped: the client retries
            }
            let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                continue;
            };
            let (mut c_in, mut s_out) = (
                client.try_clone().expect("clone"),
                server.try_clone().expect("clone"),
            );
            std::thread::spawn(move || {
                let mut buf = [0u8; 64 * 1024];
                while let Ok(n) = c_in.read(&mut buf) {
                    if n == 0 || s_out.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
                let _ = s_out.shutdown(std::net::Shutdown::Both);
            });
            let (kill, answers, swallowed) = (
                Arc::clone(&kill),
                Arc::clone(&answers),
                Arc::clone(&swallowed),
            );
            let (mut s_in, mut c_out) = (server, client);
            std::thread::spawn(move || {
                let mut buf = [0u8; 64 * 1024];
                while let Ok(n) = s_in.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    let k = answers.fetch_add(1, Ordering::SeqCst) + 1;
                    // One swallow per kill: an answer arriving while a kill is already due
                    // passes, so that every swallowed answer is followed by its own kill.
                    if k % every == 0
                        && swallowed.load(Ordering::SeqCst) < max
                        && kill
                            .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
                            .is_ok()
                    {
                        swallowed.fetch_add(1, Ordering::SeqCst);
                        break;
                    }
                    if c_out.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
                let _ = c_out.shutdown(std::net::Shutdown::Both);
                let _ = s_in.shutdown(std::net::Shutdown::Both);
            });
        }
    });
    out
}

#[test]
fn a_killed_server_loses_nothing_acknowledged_and_writes_nothing_twice() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let db = dir.join("k.db");
    let out = run(&db, &["init"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let token = common::ingest_token(&db);
    let port = free_port();
    let config = dir.join("aiaudit.toml");
    std::fs::write(
        &config,
        format!("[server]\nlisten = \"127.0.0.1:{port}\"\ndb = \"k.db\"\n"),
    )
    .expect("config");
    let front = TcpListener::bind("127.0.0.1:0").expect("proxy port");
    let url = format!("http://{}", front.local_addr().expect("addr"));
    let kill = Arc::new(AtomicBool::new(false));
    let swallowed = proxy(front, port, 6, KILLS, Arc::clone(&kill));

    let (mut server, _) = serve_config(&config);
    let load = {
        let (url, token) = (url.clone(), token.clone());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().expect("runtime");
            rt.block_on(async move {
                let retry = aiaudit_client::RetryPolicy {
                    retries: 10_000,
                    backoff: Duration::from_millis(10),
                    max_backoff: Duration::from_millis(100),
                };
                let mut tasks = Vec::new();
                for c in 0..CLIENTS {
                    let client = aiaudit_client::Client::with_options(&url, &token, None, retry)
                        .expect("client");
                    tasks.push(tokio::spawn(async move {
                        let mut acked = 0;
                        for b in 0..BATCHES {
                            let events: Vec<serde_json::Value> = (0..PER_BATCH)
                                .map(|i| serde_json::json!({"name": format!("c{c} b{b} e{i}")}))
                                .collect();
                            let receipt = client.send(&events, true).await.expect("send");
                            assert!(receipt.committed && receipt.count == PER_BATCH);
                            acked += receipt.count;
                        }
                        acked
                    }));
                }
                let mut total = 0;
                for t in tasks {
                    total += t.await.expect("client");
                }
                total
            })
        })
    };
    let mut kills = 0;
    while !load.is_finished() {
        std::thread::sleep(Duration::from_millis(2));
        if !kill.load(Ordering::SeqCst) {
            continue;
        }
        let killed = std::process::Command::new("kill")
            .args(["-KILL", &server.id().to_string()])
            .status()
            .expect("kill");
        assert!(killed.success(), "kill {kills}");
        server.wait().expect("reap");
        kills += 1;
        server = serve_config(&config).0;
        kill.store(false, Ordering::SeqCst);
    }
    let acked = load.join().expect("clients finished");
    // An answer swallowed just as the last client finished on another connection: the kill
    // it asked for is still due.
    if kill.load(Ordering::SeqCst) {
        let killed = std::process::Command::new("kill")
            .args(["-KILL", &server.id().to_string()])
            .status()
            .expect("kill");
        assert!(killed.success());
        server.wait().expect("reap");
        kills += 1;
        server = serve_config(&config).0;
    }
    stop(server);
    assert_eq!(acked, CLIENTS * BATCHES * PER_BATCH);
    assert_eq!(swallowed.load(Ordering::SeqCst), KILLS, "answers swallowed");
    assert!(kills >= KILLS, "the server was killed {kills} times");

    let verify = run(&db, &["verify"]);
    assert!(
        verify.status.success(),
        "{}{}",
        stdout(&verify),
        stderr(&verify)
    );
    let listed = run(&db, &["query", "--limit", "0", "--format", "jsonl"]);
    assert!(listed.status.success(), "{}", stderr(&listed));
    let mut seen: HashMap<String, usize> = HashMap::new();
    for line in stdout(&listed).lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("json");
        if v["type"] == "event" {
            *seen
                .entry(v["name"].as_str().expect("name").to_owned())
                .or_default() += 1;
        }
    }
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "written twice: {} names, e.g. {:?}",
        twice.len(),
        twice.first()
    );
    assert_eq!(
        seen.len(),
        CLIENTS * BATCHES * PER_BATCH,
        "every event sent is in the log"
    );
}
