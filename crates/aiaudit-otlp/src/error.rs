//! What can be wrong with an OTLP request.

/// Why a request was refused. Nothing of a refused request is returned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The protobuf body does not decode (truncated, a wrong wire type, a string that is not
    /// UTF-8, nesting past prost's limit).
    #[error("the body is not a valid OTLP {what} protobuf message: {source}")]
    Protobuf {
        /// The message expected (`ExportTraceServiceRequest`, …).
        what: &'static str,
        /// The decoder's error.
        #[source]
        source: prost::DecodeError,
    },
    /// The JSON body does not parse as the OTLP JSON mapping.
    #[error("the body is not valid OTLP JSON ({what}): {source}")]
    Json {
        /// The message expected.
        what: &'static str,
        /// The parser's error, with its line and column.
        #[source]
        source: serde_json::Error,
    },
    /// One span, record or value breaks a rule; `at` names it.
    #[error("{at}: {why}")]
    Invalid {
        /// Where, as a JSON path (`resourceSpans[0].scopeSpans[1].spans[3]`).
        at: String,
        /// What is wrong.
        why: String,
        /// The position of the span or record among the request's, from 0.
        index: Option<usize>,
    },
    /// More spans or records than one request may carry.
    #[error("the request carries more than {limit} spans or log records; send smaller batches")]
    TooMany {
        /// The limit.
        limit: usize,
    },
}

impl Error {
    pub(crate) fn invalid(at: &str, index: Option<usize>, why: impl Into<String>) -> Self {
        Error::Invalid {
            at: at.to_owned(),
            why: why.into(),
            index,
        }
    }
}
