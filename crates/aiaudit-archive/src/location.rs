//! Where an archive lives: a URL (`file:///dir`, `s3://bucket/prefix`, `gs://bucket/prefix`,
//! `az://container/prefix`) made into an object store, with credentials found the way each
//! cloud's SDK finds them (its environment variables, instance metadata).

use std::sync::Arc;

use object_store::ObjectStore;
use object_store::path::Path;

use crate::Error;

/// An archive's location: the store and the prefix its files go under.
#[derive(Debug, Clone)]
pub struct Location {
    /// The URL as given.
    pub url: String,
    pub(crate) store: Arc<dyn ObjectStore>,
    pub(crate) prefix: Path,
}

impl Location {
    /// Parses `url` for reading: a `file://` directory must exist. Nothing is fetched.
    pub fn parse(url: &str) -> Result<Self, Error> {
        Self::open(url, false)
    }

    /// Parses `url` to write to it: a missing `file://` directory is created.
    pub fn for_writing(url: &str) -> Result<Self, Error> {
        Self::open(url, true)
    }

    fn open(url: &str, create: bool) -> Result<Self, Error> {
        let bad = |why: String| Error::Location {
            url: url.to_owned(),
            why,
        };
        let parsed = url::Url::parse(url).map_err(|e| {
            bad(format!(
                "{e}; give file:///dir, s3://bucket/prefix, gs://bucket/prefix or az://container/prefix"
            ))
        })?;
        let prefix = || {
            Path::parse(parsed.path().trim_matches('/'))
                .map_err(|e| bad(format!("the path is not an object path: {e}")))
        };
        let bucket = || {
            parsed
                .host_str()
                .filter(|h| !h.is_empty())
                .map(str::to_owned)
                .ok_or_else(|| bad("no bucket or container named".into()))
        };
        // The clouds' clients speak TLS through rustls with ring; a process that installed a
        // provider already keeps its own.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let store: Arc<dyn ObjectStore> = match parsed.scheme() {
            "file" => {
                let dir = parsed
                    .to_file_path()
                    .map_err(|()| bad("not a local directory".into()))?;
                if create {
                    std::fs::create_dir_all(&dir)
                        .map_err(|e| bad(format!("cannot create {}: {e}", dir.display())))?;
                } else if !dir.is_dir() {
                    return Err(bad(format!("{} is not a directory", dir.display())));
                }
                let fs = object_store::local::LocalFileSystem::new_with_prefix(&dir)
                    .map_err(|e| bad(e.to_string()))?;
                return Ok(Location {
                    url: url.to_owned(),
                    store: Arc::new(fs),
                    prefix: Path::default(),
                });
            }
            "s3" | "s3a" => Arc::new(
                object_store::aws::AmazonS3Builder::from_env()
                    .with_bucket_name(bucket()?)
                    .build()
                    .map_err(|e| bad(e.to_string()))?,
            ),
            "gs" => Arc::new(
                object_store::gcp::GoogleCloudStorageBuilder::from_env()
                    .with_bucket_name(bucket()?)
                    .build()
                    .map_err(|e| bad(e.to_string()))?,
            ),
            "az" | "azure" | "abfs" => Arc::new(
                object_store::azure::MicrosoftAzureBuilder::from_env()
                    .with_container_name(bucket()?)
                    .build()
                    .map_err(|e| bad(e.to_string()))?,
            ),
            other => {
                return Err(bad(format!(
                    "scheme {other:?} is not an archive location; give file://, s3://, gs:// or az://"
                )));
            }
        };
        Ok(Location {
            url: url.to_owned(),
            store,
            prefix: prefix()?,
        })
    }

    /// The object path of `name` under the prefix.
    pub(crate) fn path(&self, name: &str) -> Path {
        self.prefix.clone().join(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_parsed_or_refused_by_name() {
        let dir = tempfile::tempdir().expect("tmp");
        let url = format!("file://{}/a/b", dir.path().display());
        let missing = Location::parse(&url).expect_err("no directory to read");
        assert!(
            missing.to_string().contains("is not a directory"),
            "{missing}"
        );
        let loc = Location::for_writing(&url).expect("file url");
        assert_eq!(loc.path("x.parquet").as_ref(), "x.parquet");
        assert!(dir.path().join("a/b").is_dir());
        Location::parse(&url).expect("now it exists");
        for (url, why) in [
            ("ftp://host/x", "not an archive location"),
            ("not a url", "give file://"),
            ("s3:///prefix", "no bucket"),
        ] {
            let e = Location::parse(url).expect_err(url).to_string();
            assert!(e.contains(why), "{url}: {e}");
        }
    }
}
