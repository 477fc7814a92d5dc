//! `aiaudit export --format openlineage|jsonl`: records for other tools, to standard output or
//! to a file written whole and then renamed into place, or to an object uploaded in parts and
//! completed at the end (a reader never sees half an export).

use aiaudit::lineage::export_openlineage;
use anyhow::{Context, Result, bail};
use std::io::Write;
use std::path::PathBuf;

use crate::cli::{Cli, ExportArgs, ExportFormat};
use crate::proofs::progress_bar;
use crate::read::{filter_query, reader};

/// Where the export goes: a partial file beside the target, or standard output.
enum Sink {
    File {
        tmp: PathBuf,
        path: PathBuf,
        out: std::io::BufWriter<std::fs::File>,
    },
    Stdout(std::io::BufWriter<std::io::Stdout>),
    /// An object, uploaded in parts as the export goes and completed at its end (nothing is
    /// visible under its name before).
    Object {
        url: String,
        upload: aiaudit_archive::Upload,
    },
}

impl Sink {
    fn open(path: Option<&PathBuf>) -> Result<Sink> {
        Ok(match path {
            Some(path) => {
                let tmp = path.with_extension("partial");
                let file = std::fs::File::create(&tmp)
                    .with_context(|| format!("creating {}", tmp.display()))?;
                Sink::File {
                    tmp,
                    path: path.clone(),
                    out: std::io::BufWriter::new(file),
                }
            }
            None => Sink::Stdout(std::io::BufWriter::new(std::io::stdout())),
        })
    }

    /// The object `url` names: its location is everything before the last `/`.
    fn object(url: &str) -> Result<Sink> {
        let (dir, name) = url
            .rsplit_once('/')
            .filter(|(d, n)| !n.is_empty() && !d.ends_with(':') && !d.ends_with("//"))
            .with_context(|| {
                format!("--to {url:?}: name the object, as in s3://bucket/exports/audit.parquet")
            })?;
        let loc =
            aiaudit_archive::Location::for_writing(dir).map_err(|e| anyhow::anyhow!("{e}"))?;
        let io = aiaudit_archive::Io::new().map_err(|e| anyhow::anyhow!("{e}"))?;
        let upload = io.upload(&loc, name).map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(Sink::Object {
            url: url.to_owned(),
            upload,
        })
    }

    fn writer(&mut self) -> &mut (dyn Write + Send) {
        match self {
            Sink::File { out, .. } => out,
            Sink::Stdout(out) => out,
            Sink::Object { upload, .. } => upload,
        }
    }

    /// Flushes, syncs and renames a file into place; on `failed` removes the partial file.
    fn finish(self, failed: bool) -> Result<Option<PathBuf>> {
        match self {
            Sink::File { tmp, path, out } => {
                if failed {
                    drop(out);
                    let _ = std::fs::remove_file(&tmp);
                    return Ok(None);
                }
                let file = out
                    .into_inner()
                    .map_err(|e| e.into_error())
                    .with_context(|| format!("writing {}", tmp.display()))?;
                file.sync_all()
                    .with_context(|| format!("writing {}", tmp.display()))?;
                std::fs::rename(&tmp, &path)
                    .with_context(|| format!("writing {}", path.display()))?;
                Ok(Some(path))
            }
            Sink::Stdout(mut out) => {
                out.flush()?;
                Ok(None)
            }
            Sink::Object { url, upload } => {
                if failed {
                    // Dropped unfinished: the upload is aborted.
                    return Ok(None);
                }
                upload.finish().map_err(|e| anyhow::anyhow!("{e}"))?;
                Ok(Some(PathBuf::from(url)))
            }
        }
    }
}

pub fn run(cli: &Cli, a: &ExportArgs) -> Result<()> {
    let Some(format) = a.format else {
        bail!(
            "export: give --format openlineage or jsonl (with query's filters), or `export tiles DIR`"
        );
    };
    let q = filter_query(&a.filter)?;
    let r = reader(cli)?;
    if format == ExportFormat::Parquet && a.output.is_none() && a.to.is_none() {
        bail!("export --format parquet writes a file: give --output FILE or --to URL");
    }
    let bar = progress_bar(r.size()?, "exporting");
    let mut sink = match &a.to {
        Some(url) => Sink::object(url)?,
        None => Sink::open(a.output.as_ref())?,
    };
    let started = std::time::Instant::now();
    let done: Result<String> = match format {
        ExportFormat::Openlineage => {
            export_openlineage(&r, &q, sink.writer(), &mut |seq| bar.set_position(seq + 1))
                .map(|n| {
                    let mut s = format!(
                        "{} OpenLineage RunEvents, proven against the checkpoint of size {}",
                        n.events, n.checkpoint_size
                    );
                    if n.skipped > 0 {
                        s.push_str(&format!(
                            "; {} matching records without lineage left out",
                            n.skipped
                        ));
                    }
                    s
                })
                .map_err(anyhow::Error::from)
        }
        ExportFormat::Jsonl | ExportFormat::Cloudevents => {
            let mut n = 0u64;
            let out = sink.writer();
            let cloud = format == ExportFormat::Cloudevents;
            let origin = r.info().origin.clone();
            r.query_each(&q, &mut |e| {
                bar.set_position(e.seq + 1);
                let line = if cloud {
                    cloud_event(&origin, &e)?.into_bytes()
                } else {
                    e.data
                };
                out.write_all(&line)
                    .and_then(|()| out.write_all(b"\n"))
                    .map_err(|source| aiaudit::Error::Io {
                        path: "the export".into(),
                        source,
                    })?;
                n += 1;
                Ok(true)
            })
            .map(|()| {
                if cloud {
                    format!("{n} records as CloudEvents 1.0 (JSON)")
                } else {
                    format!("{n} records exactly as sealed")
                }
            })
            .map_err(anyhow::Error::from)
        }
        ExportFormat::Parquet => {
            let mut n = 0u64;
            let out = sink.writer();
            let mut w = aiaudit_archive::parquet_file::ParquetWriter::new(out)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let parquet_err = |e: aiaudit_archive::Error| {
                aiaudit::Error::Core(aiaudit_core::Error::Archived(e.to_string()))
            };
            r.query_each(&q, &mut |e| {
                bar.set_position(e.seq + 1);
                w.push(&e).map_err(parquet_err)?;
                n += 1;
                Ok(true)
            })
            .map_err(anyhow::Error::from)
            .and_then(|()| w.finish().map(drop).map_err(|e| anyhow::anyhow!("{e}")))
            .map(|()| format!("{n} records as Parquet"))
        }
    };
    bar.finish_and_clear();
    let what = match done {
        Ok(what) => what,
        Err(e) => {
            let said = match &sink {
                Sink::File { path, .. } => {
                    format!(
                        "nothing was written to {}: run the export again",
                        path.display()
                    )
                }
                Sink::Stdout(_) => "the output is incomplete: run the export again".to_owned(),
                Sink::Object { url, .. } => {
                    format!("nothing was written to {url}: run the export again")
                }
            };
            sink.finish(true)?;
            return Err(e.context(said));
        }
    };
    if let Some(path) = sink.finish(false)? {
        eprintln!(
            "aiaudit export: wrote {what} to {} in {:.2}s",
            path.display(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// One record as a CloudEvents 1.0 event in the JSON format: the record is `data`; `id`,
/// `time`, `subject` and the type come from it, and the extensions `aiauditseq` and
/// `aiauditleafhash` say where it is in the log.
fn cloud_event(origin: &str, e: &aiaudit_core::StoredEntry) -> aiaudit::Result<String> {
    let head = aiaudit_core::RecordHead::parse(&e.data)?;
    let data: &serde_json::value::RawValue = serde_json::from_slice(&e.data)
        .map_err(|err| aiaudit::Error::Core(aiaudit_core::Error::Json(err)))?;
    let mut event = serde_json::json!({
        "specversion": "1.0",
        "id": head.id,
        "source": format!("aiaudit:{origin}"),
        "type": format!("org.aiaudit.{}", head.kind),
        "time": head.time,
        "datacontenttype": "application/json",
        "aiauditseq": e.seq,
        "aiauditleafhash": hex::encode(e.leaf_hash),
        "data": data,
    });
    if let Some(s) = head.subject {
        event["subject"] = serde_json::Value::String(s.into_owned());
    }
    serde_json::to_string(&event)
        .map_err(|err| aiaudit::Error::Core(aiaudit_core::Error::Json(err)))
}
