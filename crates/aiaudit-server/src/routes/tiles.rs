//! The c2sp.org/tlog-tiles read API: `GET /checkpoint`, `/tile/<L>/<N>[.p/<W>]` and
//! `/tile/entries/<N>[.p/<W>]`, so that any tlog client can fetch and verify the log.
//!
//! They need the `audit` role unless the log is public (`[tiles] public = true`). Hash tiles and
//! the checkpoint carry no record content and are not recorded as reads; an entry bundle is
//! (one `access` event per bundle) when a token fetched it.

use aiaudit_core::tiles::{Tile, TileKind};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::io::Write as _;

use super::caller::TileAccess;
use crate::access;
use crate::error::ApiError;
use crate::state::AppState;

/// A full tile or bundle never changes, nor does a partial one of a given width; a partial one
/// is superseded by the full tile, so it is cached for a day only.
const FULL: &str = "max-age=31536000, immutable";
const PARTIAL: &str = "max-age=86400";
/// The checkpoint moves with every batch: no caching beyond a few seconds.
const CHECKPOINT: &str = "max-age=2, must-revalidate";

/// `GET /checkpoint`: the latest signed checkpoint.
pub async fn checkpoint(
    State(state): State<AppState>,
    access: TileAccess,
) -> Result<Response, ApiError> {
    let cp = state.read(|r| Ok(r.checkpoint()?)).await?;
    let note = super::proofs::with_cosignatures(&state, cp.size, cp.note).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, cache(&access, CHECKPOINT).as_str()),
        ],
        note,
    )
        .into_response())
}

/// `GET /tile/{*path}`: a hash tile or an entry bundle.
pub async fn tile(
    State(state): State<AppState>,
    access: TileAccess,
    Path(path): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let tile = Tile::parse(&format!("tile/{path}")).map_err(aiaudit::Error::from)?;
    let bytes = state.read(move |r| Ok(r.tile(&tile)?)).await?;
    let control = cache(&access, if tile.is_full() { FULL } else { PARTIAL });
    let mut out = HeaderMap::new();
    out.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    out.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_str(&control).map_err(ApiError::internal)?,
    );
    if tile.kind != TileKind::Entries {
        return Ok((out, bytes).into_response());
    }
    if let Some((caller, route)) = &access.caller {
        let filter = json!({ "tile": tile.path(), "from_seq": tile.first() });
        access::record(&state, caller, route, filter, u64::from(tile.width)).await?;
    }
    // Bundles are compressed at the HTTP layer, as the specification asks, when the client
    // takes gzip.
    out.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if !takes_gzip(&headers) {
        return Ok((out, bytes).into_response());
    }
    let mut gz = flate2::write::GzEncoder::new(
        Vec::with_capacity(bytes.len() / 4),
        flate2::Compression::fast(),
    );
    gz.write_all(&bytes).map_err(ApiError::internal)?;
    let body = gz.finish().map_err(ApiError::internal)?;
    out.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    Ok((out, body).into_response())
}

/// Answers to a token may be kept by the client only; a public log's by any cache.
fn cache(access: &TileAccess, control: &str) -> String {
    if access.caller.is_some() {
        format!("private, {control}")
    } else {
        format!("public, {control}")
    }
}

/// Whether `Accept-Encoding` accepts gzip (`gzip` or `*` with a weight above 0).
fn takes_gzip(headers: &HeaderMap) -> bool {
    let mut gzip = None;
    let mut any = None;
    for value in headers.get_all(header::ACCEPT_ENCODING) {
        let Ok(text) = value.to_str() else { continue };
        for item in text.split(',') {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let weight = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            match name.as_str() {
                "gzip" | "x-gzip" => gzip = Some(weight > 0.0),
                "*" => any = Some(weight > 0.0),
                _ => {}
            }
        }
    }
    gzip.or(any).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_str(v).expect("ascii"),
        );
        h
    }

    #[test]
    fn gzip_is_sent_only_when_taken() {
        assert!(takes_gzip(&with("gzip")));
        assert!(takes_gzip(&with("br, gzip;q=0.5, identity")));
        assert!(takes_gzip(&with("*")));
        assert!(!takes_gzip(&with("gzip;q=0")));
        assert!(!takes_gzip(&with("gzip;q=0, *")));
        assert!(!takes_gzip(&with("identity")));
        assert!(!takes_gzip(&HeaderMap::new()));
    }
}
