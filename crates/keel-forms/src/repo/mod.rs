//! Where the forms app keeps things: the only SQL, the published forms'
//! cache entries ([`published`]) and the layout of uploaded files in the
//! media store ([`media`]). Every owner-facing query names the owner, so
//! another user's form is simply not found (404, never 403).

pub mod files;
pub mod forms;
pub mod media;
pub mod published;
pub mod responses;

/// An opaque keyset cursor: the `seq` of the last row of a page.
pub fn encode_cursor(seq: i64) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(seq.to_string())
}

/// `None` for a cursor this server did not make.
pub fn decode_cursor(cursor: &str) -> Option<i64> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cursor).ok()?;
    std::str::from_utf8(&bytes).ok()?.parse().ok().filter(|n: &i64| *n > 0)
}
