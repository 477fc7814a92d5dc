//! `aiaudit bench-scale`: the shared parts measured side by side with what they cannot beat —
//! durable ingest into PostgreSQL (tree, index, checkpoint, head lock) next to a plain binary
//! COPY of the same rows into an unindexed table, and NATS JetStream → commit.

use aiaudit::redact::Policy;
use aiaudit::{AuditLogger, Durability, LogReader, Query};
use aiaudit_server::{NatsIngest, Server, ServerConfig};
use anyhow::{Context, Result};
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::Type;
use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::bench::{CHUNK, chunk, tempdir};
use crate::demo::Rng;

/// Rows per COPY transaction in the baseline: the writer's default batch.
const COPY_BATCH: usize = 8_192;

pub fn run(events: u64, nats_events: u64, pg: &str, nats: &str) -> Result<()> {
    let dir = tempdir()?;
    let schema = format!("bench_{}", std::process::id());
    let url = format!("{pg}?schema={schema}");
    let mut admin = postgres::Client::connect(pg, postgres::NoTls)
        .with_context(|| format!("connecting to {pg} (start PostgreSQL: scripts/services)"))?;
    let drop = format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE; DROP SCHEMA IF EXISTS {schema}_plain CASCADE; \
         DROP SCHEMA IF EXISTS {schema}_store CASCADE; \
         DO $$ DECLARE r text; BEGIN FOR r IN SELECT rolname FROM pg_roles WHERE rolname IN \
         ('{schema}_writer', '{schema}_reader', '{schema}_store_writer', '{schema}_store_reader') \
         LOOP EXECUTE format('DROP OWNED BY %I', r); \
         EXECUTE format('DROP ROLE %I', r); END LOOP; END $$;"
    );
    admin.batch_execute(&drop)?;

    eprintln!("(a) PostgreSQL ingest: {events} predictions through AuditLogger …");
    let ingest = pg_ingest(&url, &dir, events)?;
    eprintln!("(b) plain COPY of the same rows into an unindexed table …");
    let copy = plain_copy(&mut admin, &url, &schema)?;
    eprintln!("(a2) the same sealed batches appended through the store alone …");
    let store_only = store_append(&url, &format!("{pg}?schema={schema}_store"))?;
    eprintln!("(c) NATS JetStream → commit: {nats_events} messages …");
    let (publish, consume) = nats_to_commit(&dir, nats, nats_events)?;
    admin.batch_execute(&drop)?;
    let _ = std::fs::remove_dir_all(&dir);

    say!(
        "aiaudit bench-scale ({events} events; NATS: {nats_events} messages; one machine, {} cores)",
        crate::bench::cores()
    );
    say!("| figure | value | target |");
    say!("| --- | --- | --- |");
    say!(
        "| (a) PostgreSQL ingest, AuditLogger (bundles, tiles, summaries, posting index, checkpoint per batch, head lock) | {:.0} events/s | ≥ 100,000 |",
        ingest
    );
    say!(
        "| (b) plain binary COPY of the same rows, no index, no partitions, {COPY_BATCH} rows per transaction | {:.0} rows/s | |",
        copy
    );
    say!("| ratio (a)/(b) | {:.2} | ≥ 0.5 |", ingest / copy);
    say!(
        "| (a2) the store alone: the same sealed batches through PostgresStore::append (head lock, zstd bundles and summaries, tail, tiles, posting lists, checkpoint) | {:.0} events/s | |",
        store_only
    );
    say!("| ratio (a2)/(b) | {:.2} | ≥ 0.5 |", store_only / copy);
    say!(
        "| (c) NATS publish (one event a message, acks awaited in windows of 1,000) | {:.0} events/s | |",
        publish
    );
    say!(
        "| (c) NATS JetStream → committed (server consuming a backlog, SQLite store) | {:.0} events/s | ≥ 50,000 |",
        consume
    );
    Ok(())
}

/// Predictions logged through the writer into a PostgreSQL log; timed until every one is
/// committed (the clock stops while the next chunk of events is built).
fn pg_ingest(url: &str, dir: &Path, events: u64) -> Result<f64> {
    let log = AuditLogger::builder(url)
        .durability(Durability::Async)
        .redaction(Policy::disabled())
        .signing_key_path(dir.join("pg.key"))
        .open()?;
    let mut rng = Rng::new(7);
    let mut timed = Duration::ZERO;
    let mut done = 0;
    while done < events {
        let n = CHUNK.min(events - done);
        let batch = chunk(&mut rng, done, n);
        let t = Instant::now();
        for e in batch {
            log.log(e)?;
        }
        log.flush()?;
        timed += t.elapsed();
        done += n;
    }
    log.close()?;
    Ok(events as f64 / timed.as_secs_f64())
}

/// The rows the writer stored, copied again with nothing but COPY: the same columns, batch by
/// batch, each in its own transaction.
fn plain_copy(admin: &mut postgres::Client, url: &str, schema: &str) -> Result<f64> {
    let table = format!("{schema}_plain.entries");
    admin.batch_execute(&format!(
        "CREATE SCHEMA {schema}_plain; CREATE TABLE {table} (seq bigint, time_ns bigint, id uuid, leaf_hash bytea, data bytea)"
    ))?;
    let reader = LogReader::open(Path::new(url))?;
    let mut after = None;
    let mut timed = Duration::ZERO;
    let mut rows = 0u64;
    loop {
        let page = reader.query(&Query {
            after_seq: after,
            limit: COPY_BATCH,
            ..Query::default()
        })?;
        let Some(last) = page.last() else { break };
        after = Some(last.seq);
        let ids: Vec<uuid::Uuid> = page
            .iter()
            .map(|e| uuid::Uuid::try_parse(&e.id))
            .collect::<Result<_, _>>()?;
        let t = Instant::now();
        let mut tx = admin.transaction()?;
        let sink = tx.copy_in(&format!(
            "COPY {table} (seq, time_ns, id, leaf_hash, data) FROM STDIN BINARY"
        ))?;
        let mut w = BinaryCopyInWriter::new(
            sink,
            &[Type::INT8, Type::INT8, Type::UUID, Type::BYTEA, Type::BYTEA],
        );
        for (e, id) in page.iter().zip(&ids) {
            let seq = e.seq as i64;
            w.write(&[&seq, &e.time_ns, id, &&e.leaf_hash[..], &&e.data[..]])?;
        }
        w.finish()?;
        tx.commit()?;
        timed += t.elapsed();
        rows += page.len() as u64;
    }
    Ok(rows as f64 / timed.as_secs_f64())
}

/// The batches (a) committed, read back and appended again through the store alone into a new
/// schema, each with its own checkpoint: what the store costs beyond a plain COPY, without the
/// sealing and the caller sharing the cores. Only the appends are timed.
fn store_append(from: &str, to: &str) -> Result<f64> {
    use aiaudit_core::{AppendBatch, CompactRange, NODE_STRIDE, Store, StoredEntry};
    let source = LogReader::open(Path::new(from))?;
    let mut dest = aiaudit_postgres::PostgresStore::create(to, source.info())?;
    let mut cps = Vec::new();
    source.store().checkpoints(&mut |c| {
        cps.push(c);
        Ok(true)
    })?;
    let mut range = CompactRange::new();
    let mut timed = Duration::ZERO;
    let mut rows = 0u64;
    let mut from_seq = 0u64;
    for cp in cps.iter().filter(|c| c.size > 0) {
        let page = source.query(&Query {
            after_seq: from_seq.checked_sub(1),
            before_seq: Some(cp.size),
            ..Query::default()
        })?;
        let entries: Vec<StoredEntry> = page
            .into_iter()
            .map(|e| StoredEntry::from_stored(e.seq, e.time_ns, e.leaf_hash, e.data))
            .collect();
        let mut nodes = Vec::new();
        for e in &entries {
            range.append(e.leaf_hash, |n| {
                if n.level > 0 && n.level % NODE_STRIDE == 0 {
                    nodes.push(n);
                }
            });
        }
        let t = Instant::now();
        dest.append(AppendBatch {
            entries: &entries,
            nodes: &nodes,
            checkpoint: cp,
        })?;
        timed += t.elapsed();
        rows += entries.len() as u64;
        from_seq = cp.size;
    }
    Ok(rows as f64 / timed.as_secs_f64())
}

/// A prediction in the body schema of `POST /v1/events`.
fn body(e: &aiaudit::Event) -> Value {
    json!({
        "type": e.kind,
        "name": e.name,
        "status": e.status.as_str(),
        "actor": {"user": e.actor.as_ref().and_then(|a| a.user.clone())},
        "model": e.model.as_ref().map(|m| json!({"name": m.name, "version": m.version})),
        "operation": e.operation.as_ref().map(|o| json!({"id": o.id, "name": o.name})),
        "details": e.details,
    })
}

/// Publishes a backlog, then starts a server consuming it and times until all is committed.
fn nats_to_commit(dir: &Path, nats: &str, n: u64) -> Result<(f64, f64)> {
    let tag = format!("bench{}", std::process::id());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut cfg = NatsIngest::new(nats);
        cfg.stream = tag.clone();
        cfg.subject = format!("{tag}.events.>");
        cfg.consumer = format!("{tag}-writer");
        // The stream exists before anything is published.
        let client = async_nats::connect(nats).await.with_context(|| {
            format!("connecting to NATS at {nats} (start it: scripts/services)")
        })?;
        let js = async_nats::jetstream::new(client);
        js.get_or_create_stream(async_nats::jetstream::stream::Config {
            name: tag.clone(),
            subjects: vec![cfg.subject.clone()],
            duplicate_window: Duration::from_secs(120),
            ..Default::default()
        })
        .await
        .map_err(|e| anyhow::anyhow!("creating the stream: {e}"))?;
        let publisher =
            aiaudit_client::NatsPublisher::connect(nats, &format!("{tag}.events.bench")).await?;
        let mut rng = Rng::new(11);
        let mut published = Duration::ZERO;
        let mut done = 0;
        while done < n {
            let k = 1_000.min(n - done);
            let events: Vec<Value> = chunk(&mut rng, done, k).iter().map(body).collect();
            let t = Instant::now();
            publisher.publish_all(&events).await?;
            published += t.elapsed();
            done += k;
        }
        let mut config = ServerConfig::new(dir.join("nats.db"));
        config.listen = "127.0.0.1:0".parse()?;
        config.policy_toml = Some((
            dir.join("none.toml"),
            "[redaction]\nenabled = false\n".to_owned(),
        ));
        config.nats = Some(cfg);
        let t = Instant::now();
        let server = Server::start(config).await?;
        let reader = LogReader::open(&dir.join("nats.db"))?;
        while reader.size()? < n {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let consumed = t.elapsed();
        server.shutdown().await?;
        let _ = js.delete_stream(&tag).await;
        Ok((
            n as f64 / published.as_secs_f64(),
            n as f64 / consumed.as_secs_f64(),
        ))
    })
}
