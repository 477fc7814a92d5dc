//! NATS sink against the real NATS server on 127.0.0.1:4222: through a JetStream stream on a
//! unique subject, every message equals its sealed record and carries `Nats-Msg-Id: <id>`, and a
//! restarted dispatcher resumes without gap or duplicate; without a stream, core publishing
//! reaches a live subscriber.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use aiaudit_sinks::{Dispatcher, default_cursor_path};
use async_nats::jetstream;
use futures_util::StreamExt;
use support::*;

const NATS: &str = "nats://127.0.0.1:4222";

async fn connect() -> async_nats::Client {
    async_nats::ConnectOptions::new()
        .connection_timeout(Duration::from_secs(3))
        .connect(NATS)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "NATS JetStream is not reachable on 127.0.0.1:4222 ({e}); start it with: \
                 start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
                 -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log"
            )
        })
}

fn unique() -> String {
    let ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{ns}{}", std::process::id())
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn publishes_to_jetstream_with_msg_ids_and_resumes() {
    let rt = rt();
    let id = unique();
    let subject = format!("aiaudit.test.sink.{id}");
    let stream_name = format!("AIAUDIT_SINK_TEST_{id}");
    let js = rt.block_on(async { jetstream::new(connect().await) });
    let stream = rt
        .block_on(js.create_stream(jetstream::stream::Config {
            name: stream_name.clone(),
            subjects: vec![subject.clone()],
            ..Default::default()
        }))
        .unwrap();
    let count = |rt: &tokio::runtime::Runtime| {
        rt.block_on(async {
            js.get_stream(&stream_name)
                .await
                .unwrap()
                .info()
                .await
                .unwrap()
                .state
                .messages
        })
    };

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.db");
    let cur = default_cursor_path(&db);
    log_events(&db, 5, "first");
    let cfg = sinks(&format!(
        r#"
        [[sinks]]
        name = "bus"
        kind = "nats"
        url = "{NATS}"
        subject = "{subject}"
        batch = 2
        "#
    ));
    let disp = Dispatcher::start(db.clone(), cur.clone(), cfg.clone()).unwrap();
    wait_caught_up(&db, &cur, &cfg);
    disp.shutdown().unwrap();
    assert_eq!(count(&rt), 5, "acked by the stream before the cursor moved");

    log_events(&db, 3, "second");
    let disp = Dispatcher::start(db.clone(), cur.clone(), cfg.clone()).unwrap();
    wait_caught_up(&db, &cur, &cfg);
    disp.shutdown().unwrap();

    let log = entries(&db);
    assert_eq!(
        count(&rt),
        log.len() as u64,
        "no gap, no duplicate across the restart"
    );
    for (i, e) in log.iter().enumerate() {
        let m = rt.block_on(stream.get_raw_message(i as u64 + 1)).unwrap();
        assert_eq!(
            &m.payload[..],
            &e.data[..],
            "seq {}: the record as sealed",
            e.seq
        );
        assert_eq!(m.headers.get("Nats-Msg-Id").unwrap().as_str(), e.id);
        assert_eq!(m.subject.as_str(), subject);
    }
    rt.block_on(js.delete_stream(&stream_name)).unwrap();
}

#[test]
fn core_publishes_when_no_stream_covers_the_subject() {
    let rt = rt();
    let subject = format!("aiaudit.test.core.{}", unique());
    let client = rt.block_on(connect());
    let mut sub = rt.block_on(client.subscribe(subject.clone())).unwrap();
    rt.block_on(client.flush()).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.db");
    let cur = default_cursor_path(&db);
    log_events(&db, 4, "core");
    let cfg = sinks(&format!(
        "[[sinks]]\nname = \"bus\"\nkind = \"nats\"\nurl = \"{NATS}\"\nsubject = \"{subject}\"\n"
    ));
    let disp = Dispatcher::start(db.clone(), cur.clone(), cfg.clone()).unwrap();
    for e in entries(&db) {
        let m = rt
            .block_on(async { tokio::time::timeout(Duration::from_secs(10), sub.next()).await })
            .expect("a message within 10 s")
            .unwrap();
        assert_eq!(&m.payload[..], &e.data[..]);
        assert_eq!(
            m.headers.unwrap().get("Nats-Msg-Id").unwrap().as_str(),
            e.id
        );
    }
    wait_caught_up(&db, &cur, &cfg);
    disp.shutdown().unwrap();
}
