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

/// Runs object-store requests (clones share the runtime).
#[derive(Debug, Clone)]
pub struct Io {
    rt: std::sync::Arc<tokio::runtime::Runtime>,
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
        Ok(Io {
            rt: std::sync::Arc::new(rt),
        })
    }

    pub(crate) fn run<T: Send + 'static>(
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

    /// Starts writing `name` under `loc` in parts ([`Upload`]): nothing is visible under the
    /// name until [`Upload::finish`] completes it.
    pub fn upload(&self, loc: &Location, name: &str) -> Result<Upload, Error> {
        let (store, path) = (loc.store.clone(), loc.path(name));
        let what = format!("writing {name} to {}", loc.url);
        let upload = self.run(&what, async move { store.put_multipart(&path).await })?;
        Ok(Upload {
            io: self.clone(),
            what,
            upload: Some(upload),
            part: Vec::with_capacity(PART),
        })
    }
}

/// Bytes of one part of an [`Upload`] (S3 takes parts of 5 MiB and more, but the last).
pub const PART: usize = 8 << 20;

/// An object written in parts of [`PART`] bytes as they come ([`std::io::Write`]), so that an
/// export of any size is never held whole. Dropped unfinished, it is aborted.
#[derive(Debug)]
pub struct Upload {
    io: Io,
    what: String,
    upload: Option<Box<dyn object_store::MultipartUpload>>,
    part: Vec<u8>,
}

impl Upload {
    fn send_part(&mut self) -> Result<(), Error> {
        let Some(upload) = self.upload.as_mut() else {
            return Err(Error::Io(format!("{}: the upload was aborted", self.what)));
        };
        let data = std::mem::replace(&mut self.part, Vec::with_capacity(PART));
        let sending = upload.put_part(PutPayload::from(data));
        self.io.run(&self.what, sending)
    }

    /// Sends what is left and completes the object.
    pub fn finish(mut self) -> Result<(), Error> {
        if !self.part.is_empty() {
            self.send_part()?;
        }
        let Some(mut upload) = self.upload.take() else {
            return Err(Error::Io(format!("{}: the upload was aborted", self.what)));
        };
        self.io.run(
            &self.what,
            async move { upload.complete().await.map(|_| ()) },
        )
    }
}

impl std::io::Write for Upload {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let room = PART - self.part.len();
        let n = buf.len().min(room);
        self.part.extend_from_slice(&buf[..n]);
        if self.part.len() == PART {
            self.send_part().map_err(std::io::Error::other)?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        if let Some(mut upload) = self.upload.take() {
            let _ = self.io.run(&self.what, async move { upload.abort().await });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    #[test]
    fn an_upload_in_parts_is_the_object_and_an_unfinished_one_leaves_nothing() {
        let dir = tempfile::tempdir().expect("tmp");
        let loc =
            Location::for_writing(&format!("file://{}", dir.path().display())).expect("location");
        let io = Io::new().expect("io");
        let data: Vec<u8> = (0..(2 * PART + 12_345))
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        let mut up = io.upload(&loc, "big.bin").expect("upload");
        for chunk in data.chunks(100_000) {
            up.write_all(chunk).expect("write");
        }
        up.finish().expect("finish");
        assert_eq!(io.get(&loc, "big.bin").expect("get").as_ref(), &data[..]);

        let mut up = io.upload(&loc, "half.bin").expect("upload");
        up.write_all(&data[..PART + 1]).expect("write");
        drop(up);
        assert!(io.get(&loc, "half.bin").is_err());
    }
}
