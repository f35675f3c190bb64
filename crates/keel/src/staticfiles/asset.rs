//! One servable file with everything its responses need, computed once:
//! the bodies of each encoding, their ETags, the content type, the cache
//! policy and the modification time. In `prod` assets are built at start
//! and shared; answering a request only clones reference-counted handles.

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::HeaderValue;

use super::manifest::sha256_hex;

/// Hashed names never change content: cache for a year, never revalidate.
pub(crate) const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Unhashed names in `prod` may change with the next release.
pub(crate) const SHORT: &str = "public, max-age=60";
/// Sources in `dev` change all the time: always revalidate (cheap, ETag).
pub(crate) const REVALIDATE: &str = "no-cache";

/// How many hex digits of SHA-256 an ETag carries.
const ETAG_DIGITS: usize = 20;

/// One encoding of an asset.
#[derive(Debug, Clone)]
pub(crate) struct Representation {
    pub(crate) body: Bytes,
    pub(crate) etag: HeaderValue,
    pub(crate) length: HeaderValue,
    /// `Content-Encoding`, `None` for the identity.
    pub(crate) encoding: Option<HeaderValue>,
}

/// A file ready to be served.
#[derive(Debug, Clone)]
pub(crate) struct Asset {
    pub(crate) identity: Representation,
    pub(crate) gzip: Option<Representation>,
    pub(crate) br: Option<Representation>,
    pub(crate) content_type: HeaderValue,
    pub(crate) cache_control: HeaderValue,
    /// Seconds since the epoch (HTTP dates have no finer grain) and the
    /// formatted header.
    pub(crate) last_modified: Option<(u64, HeaderValue)>,
}

impl Asset {
    /// An asset of `body`, identity only.
    pub(crate) fn new(
        body: Bytes,
        content_type: &'static str,
        cache_control: &'static str,
        modified: Option<SystemTime>,
    ) -> Self {
        let digest = sha256_hex(&body);
        let tag = &digest[..ETAG_DIGITS];
        let last_modified = modified.and_then(|time| {
            let secs = time.duration_since(UNIX_EPOCH).ok()?.as_secs();
            let rounded = UNIX_EPOCH + std::time::Duration::from_secs(secs);
            let header = HeaderValue::from_str(&httpdate::fmt_http_date(rounded)).ok()?;
            Some((secs, header))
        });
        Self {
            identity: representation(body, tag, "", None),
            gzip: None,
            br: None,
            content_type: HeaderValue::from_static(content_type),
            cache_control: HeaderValue::from_static(cache_control),
            last_modified,
        }
    }

    /// The same asset with precompressed bodies; their ETags are the
    /// identity's with a suffix, so each representation has its own.
    pub(crate) fn with_variants(mut self, gzip: Option<Bytes>, br: Option<Bytes>) -> Self {
        let tag = self.tag().to_owned();
        self.gzip = gzip.map(|body| representation(body, &tag, "-gz", Some("gzip")));
        self.br = br.map(|body| representation(body, &tag, "-br", Some("br")));
        self
    }

    /// The same asset under another cache policy.
    pub(crate) fn with_cache_control(&self, cache_control: &'static str) -> Self {
        Self {
            cache_control: HeaderValue::from_static(cache_control),
            ..self.clone()
        }
    }

    /// Whether responses vary by `Accept-Encoding`.
    pub(crate) fn has_variants(&self) -> bool {
        self.gzip.is_some() || self.br.is_some()
    }

    /// Every representation, identity first.
    pub(crate) fn representations(&self) -> impl Iterator<Item = &Representation> {
        std::iter::once(&self.identity)
            .chain(self.gzip.as_ref())
            .chain(self.br.as_ref())
    }

    /// The identity ETag without its quotes.
    fn tag(&self) -> &str {
        self.identity.etag.to_str().unwrap_or_default().trim_matches('"')
    }
}

fn representation(body: Bytes, tag: &str, suffix: &str, encoding: Option<&'static str>) -> Representation {
    let etag = HeaderValue::from_str(&format!("\"{tag}{suffix}\"")).unwrap_or(HeaderValue::from_static("\"\""));
    Representation {
        length: HeaderValue::from(body.len()),
        body,
        etag,
        encoding: encoding.map(HeaderValue::from_static),
    }
}
