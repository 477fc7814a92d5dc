//! [`Batcher`]: events from many tasks, sent in batches by size or by time.

use serde_json::Value;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

use crate::{Client, Error, Result};

/// When the batcher sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchConfig {
    /// Send once this many events wait.
    pub max_events: usize,
    /// Send at the latest this long after the first waiting event arrived.
    pub max_delay: Duration,
    /// Ask the server to answer after commit (so a sent batch is durable).
    pub wait_commit: bool,
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig {
            max_events: 1_000,
            max_delay: Duration::from_millis(200),
            wait_commit: true,
        }
    }
}

enum Cmd {
    Event(Value),
    Flush(oneshot::Sender<Result<u64>>),
}

/// Collects events and sends them in batches from a background task. An event the server
/// refuses is set aside and the rest of its batch sent again; that refusal, or a batch that
/// fails after every retry, is reported by the next [`Batcher::flush`] or [`Batcher::close`].
#[derive(Debug)]
pub struct Batcher {
    tx: mpsc::Sender<Cmd>,
    task: tokio::task::JoinHandle<()>,
}

impl Batcher {
    /// Starts the background task.
    pub fn new(client: Client, config: BatchConfig) -> Self {
        let (tx, rx) = mpsc::channel(config.max_events.max(1) * 4);
        let task = tokio::spawn(run(client, config, rx));
        Batcher { tx, task }
    }

    /// Queues an event (waits only while the batcher's queue is full).
    pub async fn log(&self, event: Value) -> Result<()> {
        self.tx
            .send(Cmd::Event(event))
            .await
            .map_err(|_| Error::Closed)
    }

    /// Sends everything queued and returns how many events have been sent in all, or the
    /// first failure since the last flush.
    pub async fn flush(&self) -> Result<u64> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Cmd::Flush(tx))
            .await
            .map_err(|_| Error::Closed)?;
        rx.await.map_err(|_| Error::Closed)?
    }

    /// Flushes and stops; returns the events sent in all.
    pub async fn close(self) -> Result<u64> {
        let sent = self.flush().await;
        drop(self.tx);
        let _ = self.task.await;
        sent
    }
}

async fn run(client: Client, config: BatchConfig, mut rx: mpsc::Receiver<Cmd>) {
    let mut batch: Vec<Value> = Vec::with_capacity(config.max_events);
    let mut sent = 0u64;
    let mut failure: Option<Error> = None;
    let mut deadline: Option<tokio::time::Instant> = None;
    loop {
        let cmd = match deadline {
            Some(d) => tokio::select! {
                c = rx.recv() => c,
                () = tokio::time::sleep_until(d) => {
                    send(&client, &config, &mut batch, &mut sent, &mut failure).await;
                    deadline = None;
                    continue;
                }
            },
            None => rx.recv().await,
        };
        match cmd {
            Some(Cmd::Event(e)) => {
                if batch.is_empty() {
                    deadline = Some(tokio::time::Instant::now() + config.max_delay);
                }
                batch.push(e);
                if batch.len() >= config.max_events {
                    send(&client, &config, &mut batch, &mut sent, &mut failure).await;
                    deadline = None;
                }
            }
            Some(Cmd::Flush(reply)) => {
                send(&client, &config, &mut batch, &mut sent, &mut failure).await;
                deadline = None;
                let _ = reply.send(match failure.take() {
                    Some(e) => Err(e),
                    None => Ok(sent),
                });
            }
            None => {
                send(&client, &config, &mut batch, &mut sent, &mut failure).await;
                return;
            }
        }
    }
}

async fn send(
    client: &Client,
    config: &BatchConfig,
    batch: &mut Vec<Value>,
    sent: &mut u64,
    failure: &mut Option<Error>,
) {
    if batch.is_empty() {
        return;
    }
    loop {
        match client.send(batch, config.wait_commit).await {
            Ok(r) => {
                *sent += r.count as u64;
                break;
            }
            // One bad event refuses the whole request: set it aside, send the others.
            Err(Error::Api {
                status: 400,
                index: Some(i),
                code,
                message,
            }) if i < batch.len() => {
                batch.remove(i);
                if failure.is_none() {
                    *failure = Some(Error::Api {
                        status: 400,
                        index: Some(i),
                        code,
                        message,
                    });
                }
                if batch.is_empty() {
                    break;
                }
            }
            Err(e) => {
                if failure.is_none() {
                    *failure = Some(e);
                }
                break;
            }
        }
    }
    batch.clear();
}
