//! The archive's Parquet files (docs/format.md §13.2): one row per record, typed columns for
//! analytics, the record's bytes and leaf hash for proof; row groups of 4,096 rows (16
//! bundles), so that a read of one bundle decodes one row group.

use std::sync::Arc;

use aiaudit_core::{Hash, StoredEntry};
use arrow_array::builder::{
    BinaryBuilder, FixedSizeBinaryBuilder, StringBuilder, StringDictionaryBuilder,
    TimestampNanosecondBuilder, UInt64Builder,
};
use arrow_array::types::Int32Type;
use arrow_array::{Array, ArrayRef, BinaryArray, RecordBatch, UInt64Array};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use bytes::Bytes;
use parquet::arrow::ArrowWriter;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;

use crate::Error;
use crate::columns::Columns;

/// zstd level of every column. On `aiaudit bench-archive`'s predictions level 1 is both the
/// fastest and the smallest of those measured (levels 1, 3, 6: 204, 217, 212 bytes per event;
/// 600,000 records archived in 4.5, 5.0 and about 10 s).
pub const ZSTD_LEVEL: i32 = 1;

/// Rows per row group: 16 bundles.
pub const ROW_GROUP: usize = 4096;

/// The columns, in order.
pub fn schema() -> SchemaRef {
    let dict = || DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
    Arc::new(Schema::new(vec![
        Field::new("seq", DataType::UInt64, false),
        Field::new("id", DataType::Utf8, false),
        Field::new(
            "time",
            DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
            false,
        ),
        Field::new("type", dict(), false),
        Field::new("status", dict(), false),
        Field::new("name", dict(), false),
        Field::new("model", dict(), true),
        Field::new("version", dict(), true),
        Field::new("user", dict(), true),
        Field::new("operation", DataType::Utf8, true),
        Field::new("subject", DataType::Utf8, true),
        Field::new("input_hash", DataType::Utf8, true),
        Field::new("details", DataType::Utf8, true),
        Field::new("leaf_hash", DataType::FixedSizeBinary(32), false),
        Field::new("record", DataType::Binary, false),
    ]))
}

/// Builds one row group's columns.
struct Rows {
    seq: UInt64Builder,
    id: StringBuilder,
    time: TimestampNanosecondBuilder,
    kind: StringDictionaryBuilder<Int32Type>,
    status: StringDictionaryBuilder<Int32Type>,
    name: StringDictionaryBuilder<Int32Type>,
    model: StringDictionaryBuilder<Int32Type>,
    version: StringDictionaryBuilder<Int32Type>,
    user: StringDictionaryBuilder<Int32Type>,
    operation: StringBuilder,
    subject: StringBuilder,
    input_hash: StringBuilder,
    details: StringBuilder,
    leaf: FixedSizeBinaryBuilder,
    record: BinaryBuilder,
}

impl Rows {
    fn new() -> Self {
        Rows {
            seq: UInt64Builder::with_capacity(ROW_GROUP),
            id: StringBuilder::with_capacity(ROW_GROUP, ROW_GROUP * 36),
            time: TimestampNanosecondBuilder::with_capacity(ROW_GROUP).with_timezone("UTC"),
            kind: StringDictionaryBuilder::new(),
            status: StringDictionaryBuilder::new(),
            name: StringDictionaryBuilder::new(),
            model: StringDictionaryBuilder::new(),
            version: StringDictionaryBuilder::new(),
            user: StringDictionaryBuilder::new(),
            operation: StringBuilder::new(),
            subject: StringBuilder::new(),
            input_hash: StringBuilder::new(),
            details: StringBuilder::new(),
            leaf: FixedSizeBinaryBuilder::with_capacity(ROW_GROUP, 32),
            record: BinaryBuilder::with_capacity(ROW_GROUP, ROW_GROUP * 600),
        }
    }

    fn push(&mut self, seq: u64, time_ns: i64, leaf: &Hash, record: &[u8]) -> Result<(), Error> {
        let c = Columns::of(record);
        self.seq.append_value(seq);
        self.id.append_value(&c.id);
        self.time.append_value(time_ns);
        self.kind.append_value(&c.kind);
        self.status.append_value(&c.status);
        self.name.append_value(&c.name);
        let model = c.model.as_ref();
        self.model
            .append_option(model.and_then(|m| m.name.as_deref()));
        self.version
            .append_option(model.and_then(|m| m.version.as_deref()));
        self.user
            .append_option(c.actor.as_ref().and_then(|a| a.user.as_deref()));
        self.operation
            .append_option(c.operation.as_ref().and_then(|o| o.id.as_deref()));
        self.subject.append_option(c.subject.as_deref());
        self.input_hash.append_option(c.input_hash());
        self.details.append_option(c.details.map(|d| d.get()));
        self.leaf
            .append_value(leaf)
            .map_err(|e| Error::Io(format!("seq {seq}: {e}")))?;
        self.record.append_value(record);
        Ok(())
    }

    fn finish(&mut self) -> Result<RecordBatch, Error> {
        let cols: Vec<ArrayRef> = vec![
            Arc::new(self.seq.finish()),
            Arc::new(self.id.finish()),
            Arc::new(self.time.finish()),
            Arc::new(self.kind.finish()),
            Arc::new(self.status.finish()),
            Arc::new(self.name.finish()),
            Arc::new(self.model.finish()),
            Arc::new(self.version.finish()),
            Arc::new(self.user.finish()),
            Arc::new(self.operation.finish()),
            Arc::new(self.subject.finish()),
            Arc::new(self.input_hash.finish()),
            Arc::new(self.details.finish()),
            Arc::new(self.leaf.finish()),
            Arc::new(self.record.finish()),
        ];
        RecordBatch::try_new(schema(), cols).map_err(|e| Error::Io(format!("a row group: {e}")))
    }
}

/// Writes entries one at a time into a Parquet file, a row group per [`ROW_GROUP`] rows.
pub struct ParquetWriter<W: std::io::Write + Send> {
    w: ArrowWriter<W>,
    rows: Rows,
    pending: usize,
}

impl<W: std::io::Write + Send> ParquetWriter<W> {
    /// A file written to `out`.
    pub fn new(out: W) -> Result<Self, Error> {
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(
                ZstdLevel::try_new(ZSTD_LEVEL).map_err(|e| Error::Io(e.to_string()))?,
            ))
            .set_max_row_group_row_count(Some(ROW_GROUP))
            .set_column_dictionary_enabled(ColumnPath::from("record"), false)
            .set_column_dictionary_enabled(ColumnPath::from("details"), false)
            .set_column_dictionary_enabled(ColumnPath::from("leaf_hash"), false)
            .set_column_dictionary_enabled(ColumnPath::from("id"), false)
            .build();
        let w = ArrowWriter::try_new(out, schema(), Some(props))
            .map_err(|e| Error::Io(format!("starting a Parquet file: {e}")))?;
        Ok(ParquetWriter {
            w,
            rows: Rows::new(),
            pending: 0,
        })
    }

    /// Adds one entry (raw: seq, time, leaf hash and record are read).
    pub fn push(&mut self, e: &StoredEntry) -> Result<(), Error> {
        self.rows.push(e.seq, e.time_ns, &e.leaf_hash, &e.data)?;
        self.pending += 1;
        if self.pending == ROW_GROUP {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), Error> {
        if self.pending == 0 {
            return Ok(());
        }
        let batch = self.rows.finish()?;
        self.pending = 0;
        let err = |e: parquet::errors::ParquetError| {
            Error::Io(format!("writing a Parquet row group: {e}"))
        };
        self.w.write(&batch).map_err(err)?;
        self.w.flush().map_err(err)
    }

    /// Writes the footer and returns the output.
    pub fn finish(mut self) -> Result<W, Error> {
        self.flush()?;
        self.w
            .into_inner()
            .map_err(|e| Error::Io(format!("finishing a Parquet file: {e}")))
    }
}

/// Writes the entries (raw: seq, time, leaf hash and record) as one Parquet file.
pub fn write(entries: &[StoredEntry]) -> Result<Vec<u8>, Error> {
    let mut w = ParquetWriter::new(Vec::new())?;
    for e in entries {
        w.push(e)?;
    }
    w.finish()
}

/// The `(seq, record)` pairs of row group `group` of `file` (`name` for errors).
pub fn read_group(name: &str, file: &Bytes, group: usize) -> Result<Vec<(u64, Vec<u8>)>, Error> {
    let bad = |why: String| Error::Parquet {
        file: name.to_owned(),
        why,
    };
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(file.clone()).map_err(|e| bad(e.to_string()))?;
    let groups = builder.metadata().num_row_groups();
    if group >= groups {
        return Err(bad(format!(
            "it has {groups} row groups, not {}",
            group + 1
        )));
    }
    let mask = ProjectionMask::columns(builder.parquet_schema(), ["seq", "record"]);
    let reader = builder
        .with_projection(mask)
        .with_row_groups(vec![group])
        .with_batch_size(ROW_GROUP)
        .build()
        .map_err(|e| bad(e.to_string()))?;
    let mut out = Vec::with_capacity(ROW_GROUP);
    for batch in reader {
        let batch = batch.map_err(|e| bad(e.to_string()))?;
        let seqs = batch
            .column_by_name("seq")
            .and_then(|c| c.as_any().downcast_ref::<UInt64Array>())
            .ok_or_else(|| bad("no seq column of unsigned integers".into()))?;
        let records = batch
            .column_by_name("record")
            .and_then(|c| c.as_any().downcast_ref::<BinaryArray>())
            .ok_or_else(|| bad("no record column of bytes".into()))?;
        for i in 0..batch.num_rows() {
            if seqs.is_null(i) || records.is_null(i) {
                return Err(bad(format!(
                    "row {} of row group {group} is null",
                    out.len()
                )));
            }
            out.push((seqs.value(i), records.value(i).to_vec()));
        }
    }
    Ok(out)
}

/// The number of rows and row groups of `file`, from its footer.
pub fn shape(name: &str, file: &Bytes) -> Result<(u64, usize), Error> {
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(file.clone()).map_err(|e| Error::Parquet {
            file: name.to_owned(),
            why: e.to_string(),
        })?;
    let m = builder.metadata();
    Ok((m.file_metadata().num_rows() as u64, m.num_row_groups()))
}
