//! One archived record as the Parquet file's typed columns (docs/format.md §13.2): the
//! members read from the record itself, borrowed, with one parse.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

/// The members of a sealed record the archive's columns hold.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Columns<'a> {
    #[serde(borrow, default)]
    pub id: Cow<'a, str>,
    #[serde(rename = "type", borrow, default)]
    pub kind: Cow<'a, str>,
    #[serde(borrow, default)]
    pub name: Cow<'a, str>,
    #[serde(borrow, default)]
    pub status: Cow<'a, str>,
    #[serde(borrow, default)]
    pub model: Option<Model<'a>>,
    #[serde(borrow, default)]
    pub actor: Option<Actor<'a>>,
    #[serde(borrow, default)]
    pub operation: Option<Operation<'a>>,
    #[serde(borrow, default)]
    pub subject: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub details: Option<&'a RawValue>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Model<'a> {
    #[serde(borrow, default)]
    pub name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub version: Option<Cow<'a, str>>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Actor<'a> {
    #[serde(borrow, default)]
    pub user: Option<Cow<'a, str>>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Operation<'a> {
    #[serde(borrow, default)]
    pub id: Option<Cow<'a, str>>,
}

#[derive(Debug, Default, Deserialize)]
struct Details<'a> {
    #[serde(borrow, default)]
    input_hash: Option<&'a RawValue>,
}

impl<'a> Columns<'a> {
    /// The columns of `record`; a record that does not parse gives empty columns (its bytes
    /// and leaf hash are archived all the same, and `verify` reports it as before).
    pub fn of(record: &'a [u8]) -> Self {
        serde_json::from_slice(record).unwrap_or_default()
    }

    /// `details.input_hash`, when it is a string.
    pub fn input_hash(&self) -> Option<String> {
        let d: Details<'_> = serde_json::from_str(self.details?.get()).ok()?;
        serde_json::from_str::<String>(d.input_hash?.get()).ok()
    }
}
