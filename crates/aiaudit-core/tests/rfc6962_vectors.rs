//! Every RFC 6962 / RFC 9162 proof vector of transparency-dev/merkle: the `wantErr: false` cases
//! verify, every other case is rejected.

use aiaudit_core::{verify_consistency, verify_inclusion};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/rfc6962")
}

fn files(kind: &str) -> Vec<PathBuf> {
    let dir = vectors_dir().join(kind);
    let mut out = Vec::new();
    let mut stack = vec![dir.clone()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d)
            .unwrap_or_else(|e| panic!("cannot read the vectors at {}: {e}", d.display()));
        for entry in entries {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|x| x == "json") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn bytes(v: &Value) -> Vec<u8> {
    match v {
        Value::Null => Vec::new(),
        Value::String(s) => B64.decode(s).expect("base64 in vector"),
        other => panic!("unexpected {other}"),
    }
}

fn list(v: &Value) -> Vec<Vec<u8>> {
    match v {
        Value::Null => Vec::new(),
        Value::Array(a) => a.iter().map(bytes).collect(),
        other => panic!("unexpected {other}"),
    }
}

fn load(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("json")
}

/// Runs `check` on every vector of `kind` and requires it to fail exactly where `wantErr` is
/// true; both outcomes must occur.
fn run_vectors(kind: &str, check: impl Fn(&Value) -> bool) {
    let files = files(kind);
    assert!(
        files.len() > 50,
        "expected the {kind} vectors, found {}",
        files.len()
    );
    let (mut accepted, mut rejected) = (0, 0);
    for path in files {
        let v = load(&path);
        let want_err = v["wantErr"].as_bool().expect("wantErr");
        let ok = check(&v);
        assert_eq!(!ok, want_err, "{}", path.display());
        if want_err {
            rejected += 1
        } else {
            accepted += 1
        }
    }
    assert!(accepted > 0 && rejected > 0);
}

#[test]
fn inclusion_vectors() {
    run_vectors("inclusion", |v| {
        verify_inclusion(
            v["leafIdx"].as_u64().expect("leafIdx"),
            v["treeSize"].as_u64().expect("treeSize"),
            &bytes(&v["leafHash"]),
            &list(&v["proof"]),
            &bytes(&v["root"]),
        )
        .is_ok()
    });
}

#[test]
fn consistency_vectors() {
    run_vectors("consistency", |v| {
        verify_consistency(
            v["size1"].as_u64().expect("size1"),
            v["size2"].as_u64().expect("size2"),
            &list(&v["proof"]),
            &bytes(&v["root1"]),
            &bytes(&v["root2"]),
        )
        .is_ok()
    });
}
