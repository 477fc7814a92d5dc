//! A server on a free loopback port over a fresh log, with one token per role.

#![allow(dead_code)]

use aiaudit_server::{Server, ServerConfig};
use aiaudit_sqlite::TokenFile;
use serde_json::Value;
use std::collections::HashMap;

pub struct Harness {
    pub dir: tempfile::TempDir,
    pub server: Server,
    pub url: String,
    pub tokens: HashMap<&'static str, String>,
    pub http: reqwest::Client,
}

pub fn config(dir: &std::path::Path) -> ServerConfig {
    let mut c = ServerConfig::new(dir.join("audit.db"));
    c.listen = "127.0.0.1:0".parse().expect("address");
    c
}

pub async fn start() -> Harness {
    let dir = tempfile::tempdir().expect("tempdir");
    start_with(dir, |_| {}).await
}

pub async fn start_with(dir: tempfile::TempDir, tweak: impl FnOnce(&mut ServerConfig)) -> Harness {
    let mut c = config(dir.path());
    tweak(&mut c);
    let server = Server::start(c).await.expect("server starts");
    let file = TokenFile::open(&server.tokens_path(), true).expect("token file");
    let mut tokens = HashMap::new();
    for role in ["ingest", "read", "audit", "admin"] {
        let token = match file.create(&format!("{role}-token"), role, 1) {
            Ok((_, t)) => t,
            // A restarted harness over the same directory makes fresh tokens.
            Err(_) => {
                file.revoke(&format!("{role}-token"), 2).expect("revoke");
                file.create(&format!("{role}-token"), role, 3)
                    .expect("create")
                    .1
            }
        };
        tokens.insert(role, token);
    }
    let url = server.url();
    Harness {
        dir,
        server,
        url,
        tokens,
        http: reqwest::Client::new(),
    }
}

impl Harness {
    pub fn token(&self, role: &str) -> &str {
        &self.tokens[role]
    }

    pub async fn post_json(&self, role: &str, path: &str, body: &Value) -> (u16, Value) {
        let resp = self
            .http
            .post(format!("{}{path}", self.url))
            .bearer_auth(self.token(role))
            .json(body)
            .send()
            .await
            .expect("request");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    pub async fn get_json(&self, role: &str, path: &str) -> (u16, Value) {
        let resp = self
            .http
            .get(format!("{}{path}", self.url))
            .bearer_auth(self.token(role))
            .send()
            .await
            .expect("request");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    pub async fn get_text(&self, role: &str, path: &str) -> String {
        self.http
            .get(format!("{}{path}", self.url))
            .bearer_auth(self.token(role))
            .send()
            .await
            .expect("request")
            .text()
            .await
            .expect("text")
    }

    pub fn db(&self) -> std::path::PathBuf {
        self.dir.path().join("audit.db")
    }
}

/// The PostgreSQL server the tests use.
pub fn pg_base() -> String {
    std::env::var("AIAUDIT_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// Drops a test schema and its roles.
pub fn drop_schema(schema: &str) {
    let mut c = postgres::Client::connect(&pg_base(), postgres::NoTls).unwrap_or_else(|e| {
        panic!(
            "PostgreSQL is not reachable at {}: {e}. Start it with `pg_ctlcluster $(ls /etc/postgresql) main start` (.ci/run does this)",
            pg_base()
        )
    });
    c.batch_execute(&format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE;
         DO $$ DECLARE r text; BEGIN
           FOR r IN SELECT rolname FROM pg_roles WHERE rolname IN ('{schema}_writer', '{schema}_reader') LOOP
             EXECUTE format('DROP OWNED BY %I', r);
             EXECUTE format('DROP ROLE %I', r);
           END LOOP;
         END $$;"
    ))
    .expect("drop schema");
}
