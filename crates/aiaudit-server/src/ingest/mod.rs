//! Where events come in, each source a module of its own, all ending in one submission path:
//!
//! - [`json`]: the body schema of `POST /v1/events` (one object, an array, or NDJSON) and its
//!   checks, shared by every source that carries aiaudit's own JSON;
//! - `otlp`: OTLP/HTTP traces and logs, mapped onto events by `aiaudit-otlp`;
//! - `openlineage`: OpenLineage RunEvents (`POST /api/v1/lineage`, as Marquez takes them);
//! - `nats`: the JetStream consumer (acknowledges a message only after its batch commits);
//! - `submit`: a parsed batch to the writer, answered once sealed or committed, with durable
//!   idempotency keys;
//! - `receipt`: what an ingest answers.
//!
//! The HTTP routes (`routes::ingest`, `routes::otlp`) only read the request and hand the batch on.

pub mod json;
pub(crate) mod nats;
pub(crate) mod openlineage;
pub(crate) mod otlp;
pub(crate) mod receipt;
pub(crate) mod submit;
