//! Object storage from synchronous code: one small runtime of its own that every put and get
//! runs on, so that callers (a store's read path, a CLI command, a thread of the server) need
//! not be inside a runtime, and may be inside another one.

use std::sync::mpsc;
use std::time::Duration;

use bytes::Bytes;
use object_store::{ObjectStoreExt, PutPayload};

use crate::{Error, Location};

/// How long one put or get may take before it is given up as failed.
const TIMEOUT: Duration = Duration::from_secs(120);

/// Runs object-store requests.
#[derive(Debug)]
pub struct Io {
    rt: tokio::runtime::Runtime,
}

impl Io {
    /// A runtime with one worker thread.
    pub fn new() -> Result<Self, Error> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("aiaudit-archive-io")
            .enable_all()
            .build()
            .map_err(|e| Error::Io(format!("cannot start the archive's I/O thread: {e}")))?;
        Ok(Io { rt })
    }

    fn run<T: Send + 'static>(
        &self,
        what: &str,
        fut: impl Future<Output = Result<T, object_store::Error>> + Send + 'static,
    ) -> Result<T, Error> {
        let (tx, rx) = mpsc::sync_channel(1);
        self.rt.spawn(async move {
            let r = tokio::time::timeout(TIMEOUT, fut).await;
            let _ = tx.send(r);
        });
        match rx.recv() {
            Ok(Ok(r)) => r.map_err(|e| Error::Store {
                what: what.to_owned(),
                source: Box::new(e),
            }),
            Ok(Err(_)) => Err(Error::Io(format!(
                "{what}: no answer in {} s",
                TIMEOUT.as_secs()
            ))),
            Err(_) => Err(Error::Io(format!("{what}: the I/O thread stopped"))),
        }
    }

    /// Writes `bytes` as `name` under `loc`, replacing what is there.
    pub fn put(&self, loc: &Location, name: &str, bytes: Bytes) -> Result<(), Error> {
        let (store, path) = (loc.store.clone(), loc.path(name));
        self.run(&format!("writing {name} to {}", loc.url), async move {
            store
                .put(&path, PutPayload::from_bytes(bytes))
                .await
                .map(|_| ())
        })
    }

    /// Reads `name` under `loc`.
    pub fn get(&self, loc: &Location, name: &str) -> Result<Bytes, Error> {
        let (store, path) = (loc.store.clone(), loc.path(name));
        self.run(&format!("reading {name} from {}", loc.url), async move {
            store.get(&path).await?.bytes().await
        })
    }

    /// Deletes `name` under `loc` (a missing object is no error).
    pub fn delete(&self, loc: &Location, name: &str) -> Result<(), Error> {
        let (store, path) = (loc.store.clone(), loc.path(name));
        self.run(&format!("deleting {name} from {}", loc.url), async move {
            match store.delete(&path).await {
                Err(object_store::Error::NotFound { .. }) => Ok(()),
                r => r,
            }
        })
    }
}
