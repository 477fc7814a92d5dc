//! What spans and log records share: the resource and scope they come under, ids, times and
//! the event fields both fill alike.

use aiaudit_core::event::{Actor, Event, Operation, Source};
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::resource::v1::Resource;
use serde_json::{Map, Value};
use std::sync::Arc;

use crate::error::Error;
use crate::value::{At, attributes};
use crate::{Encoding, Options};

/// Decodes a body as the message `what` (`ExportTraceServiceRequest`, …).
pub(crate) fn decode<T>(body: &[u8], encoding: Encoding, what: &'static str) -> Result<T, Error>
where
    T: prost::Message + Default + serde::de::DeserializeOwned,
{
    match encoding {
        Encoding::Protobuf => T::decode(body).map_err(|source| Error::Protobuf { what, source }),
        Encoding::Json => {
            serde_json::from_slice(body).map_err(|source| Error::Json { what, source })
        }
    }
}

/// The most bytes of resource or scope attributes one resource or scope may hold.
pub(crate) const MAX_SHARED: usize = 64 * 1024;

/// The most bytes of resource and scope attributes one request may repeat over its events.
pub(crate) const MAX_COPIED: usize = 256 * 1024 * 1024;

/// The JSON size of a resource or scope, refused past [`MAX_SHARED`].
fn bounded(v: &Map<String, Value>, what: &str, at: &At<'_>) -> Result<usize, Error> {
    let len = serde_json::to_vec(v).map(|b| b.len()).unwrap_or(usize::MAX);
    if len > MAX_SHARED {
        return Err(at.fail(format!(
            "{what} is {len} bytes as JSON; the limit is {MAX_SHARED}, since every event repeats it"
        )));
    }
    Ok(len)
}

/// One resource's items (spans or log records), grouped by scope, as both signals nest them.
pub(crate) struct Group<I> {
    /// The resource.
    pub resource: Option<Resource>,
    /// The resource's schema URL.
    pub schema_url: String,
    /// Each scope with its schema URL and its items.
    pub scopes: Vec<(Option<InstrumentationScope>, String, Vec<I>)>,
}

/// The JSON names of one signal's nesting: `["resourceSpans", "scopeSpans", "spans"]`.
pub(crate) type Names = [&'static str; 3];

/// Every item of `groups` as an event, in order, through `one`, which gets the item, its
/// resource's origin, what every event under its resource and scope carries in `otel`
/// (`resource`, `resource_schema_url`, `resource_dropped_attributes`, `scope`; converted once)
/// and where it is; the first error stops.
pub(crate) fn walk<I>(
    groups: Vec<Group<I>>,
    names: Names,
    opts: &Options,
    mut one: impl FnMut(I, &Origin, &Map<String, Value>, &At<'_>) -> Result<Event, Error>,
) -> Result<Vec<Event>, Error> {
    let total: usize = groups
        .iter()
        .flat_map(|g| &g.scopes)
        .map(|(_, _, items)| items.len())
        .sum();
    if total > opts.max_events {
        return Err(Error::TooMany {
            limit: opts.max_events,
        });
    }
    let [rn, sn, iname] = names;
    let mut out = Vec::with_capacity(total);
    let mut copied = 0usize;
    for (r, g) in groups.into_iter().enumerate() {
        let rpath = || format!("{rn}[{r}].resource");
        let at = At {
            path: &rpath,
            index: None,
        };
        let origin = Origin::new(g.resource, opts, &at)?;
        let mut around = Map::new();
        around.insert("resource".into(), Value::Object(origin.attributes.clone()));
        if !g.schema_url.is_empty() {
            around.insert("resource_schema_url".into(), Value::String(g.schema_url));
        }
        if origin.dropped > 0 {
            around.insert(
                "resource_dropped_attributes".into(),
                Value::from(origin.dropped),
            );
        }
        bounded(&around, "the resource", &at)?;
        for (s, (sc, schema_url, items)) in g.scopes.into_iter().enumerate() {
            let spath = || format!("{rn}[{r}].{sn}[{s}].scope");
            let at = At {
                path: &spath,
                index: None,
            };
            let mut shared = around.clone();
            if let Some(v) = scope(sc, schema_url, opts, &at)? {
                shared.insert("scope".into(), v);
            }
            let len = bounded(&shared, "the scope", &at)?;
            // Every event carries its resource and scope: what they add up to is bounded, so
            // that a small (compressed) request cannot expand into gigabytes.
            copied += len * items.len();
            if copied > MAX_COPIED {
                return Err(at.fail(format!(
                    "the request repeats more than {MAX_COPIED} bytes of resource and scope \
                     attributes over its events; send fewer spans or records per resource"
                )));
            }
            for (i, item) in items.into_iter().enumerate() {
                let path = || format!("{rn}[{r}].{sn}[{s}].{iname}[{i}]");
                let at = At {
                    path: &path,
                    index: Some(out.len()),
                };
                out.push(one(item, &origin, &shared, &at)?);
            }
        }
    }
    Ok(out)
}

/// A resource, converted once for every span or record under it.
pub(crate) struct Origin {
    /// Its attributes.
    pub attributes: Map<String, Value>,
    /// `service.name`.
    pub service: Option<String>,
    /// The event source: `host.name`, `process.pid`, `process.executable.name`.
    pub source: Source,
    /// Attributes the sender dropped from the resource.
    pub dropped: u32,
}

impl Origin {
    pub(crate) fn new(r: Option<Resource>, opts: &Options, at: &At<'_>) -> Result<Self, Error> {
        let (attrs, dropped) = match r {
            Some(r) => (
                attributes(r.attributes, opts, at, "resource attributes")?,
                r.dropped_attributes_count,
            ),
            None => (Map::new(), 0),
        };
        let text = |k: &str| attrs.get(k).and_then(Value::as_str).map(str::to_owned);
        let source = Source {
            host: text("host.name").map(Arc::from),
            pid: attrs
                .get("process.pid")
                .and_then(Value::as_u64)
                .and_then(|p| u32::try_from(p).ok()),
            process: text("process.executable.name").map(Arc::from),
            ..Source::default()
        };
        Ok(Origin {
            service: text("service.name"),
            source,
            attributes: attrs,
            dropped,
        })
    }
}

/// A scope as `{name, version?, attributes?, dropped_attributes?, schema_url?}`, empty members
/// left out.
pub(crate) fn scope(
    s: Option<InstrumentationScope>,
    schema_url: String,
    opts: &Options,
    at: &At<'_>,
) -> Result<Option<Value>, Error> {
    let mut m = Map::new();
    if !schema_url.is_empty() {
        m.insert("schema_url".into(), Value::String(schema_url));
    }
    let Some(s) = s else {
        return Ok((!m.is_empty()).then_some(Value::Object(m)));
    };
    if s.dropped_attributes_count > 0 {
        m.insert(
            "dropped_attributes".into(),
            Value::from(s.dropped_attributes_count),
        );
    }
    m.insert("name".into(), Value::String(s.name));
    if !s.version.is_empty() {
        m.insert("version".into(), Value::String(s.version));
    }
    if !s.attributes.is_empty() {
        let a = attributes(s.attributes, opts, at, "scope attributes")?;
        m.insert("attributes".into(), Value::Object(a));
    }
    Ok(Some(Value::Object(m)))
}

/// An id as lowercase hex: `None` when empty or all zero (the specification's "no id"), an
/// error when it is not `len` bytes.
pub(crate) fn id(
    bytes: &[u8],
    len: usize,
    what: &str,
    at: &At<'_>,
) -> Result<Option<String>, Error> {
    if bytes.is_empty() {
        return Ok(None);
    }
    if bytes.len() != len {
        return Err(at.fail(format!("{what} is {} bytes; it must be {len}", bytes.len())));
    }
    Ok(Some(hex::encode(bytes)))
}

/// A Unix-nanosecond time as the event's `occurred` (0: not given).
pub(crate) fn time(ns: u64, what: &str, at: &At<'_>) -> Result<Option<i64>, Error> {
    if ns == 0 {
        return Ok(None);
    }
    i64::try_from(ns)
        .map(Some)
        .map_err(|_| at.fail(format!("{what} {ns} is past the year 2262")))
}

/// Fills what spans and records share: actor (the user from the item's attributes, else the
/// resource's; the service from the resource, else the token's), source, and the trace as
/// operation.
pub(crate) fn fill(
    e: &mut Event,
    origin: &Origin,
    attrs: &Map<String, Value>,
    trace: Option<String>,
    opts: &Options,
) {
    let user = ["enduser.id", "user.id"].iter().find_map(|k| {
        attrs
            .get(*k)
            .or_else(|| origin.attributes.get(*k))
            .and_then(Value::as_str)
            .map(str::to_owned)
    });
    e.actor = Some(Actor {
        user,
        service: Some(
            origin
                .service
                .clone()
                .unwrap_or_else(|| opts.service.clone()),
        ),
        ip: None,
    });
    e.source = origin.source.clone();
    e.operation = trace.map(|t| Operation {
        id: Some(t),
        name: None,
    });
}
