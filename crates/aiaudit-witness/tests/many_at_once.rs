//! 10,000 add-checkpoint requests at once against the router: the cosign-again, the replay of an
//! older checkpoint, garbage and a stranger's checkpoint each get their status every time, and
//! the state is what it was.

use std::sync::Arc;

use aiaudit_core::cosignature::CosignatureSigner;
use aiaudit_core::{Checkpoint, MemoryTree, NoteSigner, leaf_hash, root_at};
use aiaudit_witness::{AddCheckpoint, Logs, Outcome, State, Witness};
use axum::body::Body;
use axum::http::Request;
use tower::ServiceExt;

fn note(key: &NoteSigner, tree: &MemoryTree, size: u64) -> String {
    Checkpoint {
        origin: key.name().to_owned(),
        size,
        root: root_at(tree, size).expect("root"),
    }
    .sign(key)
    .expect("sign")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_requests_at_once_leave_the_state_as_it_was() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("w.db");
    let key = NoteSigner::generate("many/log").expect("key");
    let stranger = NoteSigner::generate("stranger/log").expect("key");
    let mut tree = MemoryTree::new();
    for i in 0..16u64 {
        tree.push(leaf_hash(&i.to_be_bytes()));
    }
    let witness = Arc::new(
        Witness::open(
            &db,
            CosignatureSigner::generate("many/w").expect("key"),
            Logs::of([key.verifier()]),
        )
        .expect("open"),
    );
    let first = AddCheckpoint {
        old: 0,
        proof: vec![],
        checkpoint: note(&key, &tree, 16),
    };
    assert!(matches!(
        witness
            .add_checkpoint(first.to_body().as_bytes(), 1)
            .expect("add"),
        Outcome::Cosigned(_)
    ));
    let again = AddCheckpoint {
        old: 16,
        ..first.clone()
    }
    .to_body();
    let replay = AddCheckpoint {
        old: 0,
        proof: vec![],
        checkpoint: note(&key, &tree, 8),
    }
    .to_body();
    let theirs = AddCheckpoint {
        old: 0,
        proof: vec![],
        checkpoint: note(&stranger, &tree, 16),
    }
    .to_body();
    let kinds: [(&str, u16); 4] = [
        (again.as_str(), 200),
        (replay.as_str(), 409),
        ("old 1\nnot base64\n\n", 400),
        (theirs.as_str(), 404),
    ];
    let app = aiaudit_witness::app(witness.clone());
    let mut tasks = Vec::with_capacity(10_000);
    for i in 0..10_000usize {
        let (body, want) = kinds[i % 4];
        let (app, body) = (app.clone(), body.to_owned());
        tasks.push(tokio::spawn(async move {
            let req = Request::post("/add-checkpoint")
                .body(Body::from(body))
                .expect("request");
            let resp = app.oneshot(req).await.expect("answer");
            (resp.status().as_u16(), want)
        }));
    }
    let mut counts = [0usize; 4];
    for (i, t) in tasks.into_iter().enumerate() {
        let (got, want) = t.await.expect("task");
        assert_eq!(got, want, "request {i}");
        counts[i % 4] += 1;
    }
    assert_eq!(counts, [2_500; 4]);
    let state = State::open(&db).expect("state");
    let latest = state.latest("many/log").expect("read").expect("held");
    assert_eq!(latest.size, 16);
    assert_eq!(latest.root, root_at(&tree, 16).expect("root"));
    assert!(state.refused("many/log").expect("refused").is_empty());
}
