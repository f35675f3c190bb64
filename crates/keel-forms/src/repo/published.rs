//! Published forms in the cache (memory or Redis), for the public fetch and
//! for submissions, which neither read the form from the database while it
//! is cached.
//!
//! Entries are versioned by the form's `version` column: an update or a
//! delete marks the new version for every instance sharing the cache, and
//! a fetch that read the form before the change cannot put it back (see
//! `keel::cache`'s versioned entries). Each instance decodes an entry once
//! ([`keel::cache::Cache::get_versioned`]). The cache never holds a webhook
//! secret. A form whose public part is over [`MAX_CACHED_BYTES`] as JSON is
//! not cached: a few forms near the body limit (1 MiB) would otherwise fill
//! the memory cache and the decoded-value memo, pushing everything else out.

use std::sync::Arc;
use std::time::Duration;

use keel::cache::{Cache, HeapSize};
use keel::db::Db;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::forms::{self, StoredForm};
use crate::domain::{Field, FormSlug};
use crate::FormsError;

/// How long a public form stays cached when nothing invalidates it.
const CACHE_TTL: Duration = Duration::from_secs(300);
/// The largest public part, as JSON, that is cached.
pub const MAX_CACHED_BYTES: usize = 256 << 10;

/// The cache key of the form published under `slug`.
pub fn cache_key(slug: &str) -> String {
    format!("forms:public:{slug}")
}

/// What anyone may see of a form, with its fields encoded once when it is
/// cached, so a fetch sends them without encoding them again.
#[derive(Debug, Serialize, Deserialize)]
pub struct PublicPart {
    pub slug: String,
    pub title: String,
    pub description: String,
    /// The fields, as JSON.
    pub fields: Box<RawValue>,
    pub accepting_responses: bool,
}

/// What the cache holds for a slug: the form, without its webhook secret,
/// and its public part.
#[derive(Debug, Serialize, Deserialize)]
pub struct CachedForm {
    pub form: StoredForm,
    pub public: PublicPart,
}

impl CachedForm {
    fn of(mut form: StoredForm) -> Result<Self, FormsError> {
        form.webhook_secret = None;
        let fields = serde_json::to_string(&form.definition.fields)
            .and_then(RawValue::from_string)
            .map_err(|err| FormsError::Corrupt(format!("the fields of form {} do not encode: {err}", form.id)))?;
        let def = &form.definition;
        let public = PublicPart {
            slug: form.slug.clone(),
            title: def.title.clone(),
            description: def.description.clone(),
            fields,
            accepting_responses: def.accepting_responses,
        };
        Ok(Self { form, public })
    }
}

impl HeapSize for CachedForm {
    fn heap_size(&self) -> usize {
        let public = &self.public;
        self.form.heap_size()
            + public.slug.heap_size()
            + public.title.heap_size()
            + public.description.heap_size()
            + public.fields.get().len()
    }
}

impl HeapSize for StoredForm {
    /// For the cache's memo bound: every string and list the form owns.
    fn heap_size(&self) -> usize {
        let def = &self.definition;
        let fields: usize = def
            .fields
            .iter()
            .map(|f| {
                let bounds = [&f.min, &f.max].iter().map(|b| b.heap_size()).sum::<usize>();
                f.key.heap_size()
                    + f.label.heap_size()
                    + f.help.heap_size()
                    + f.options.heap_size()
                    + f.accept.heap_size()
                    + bounds
            })
            .sum();
        let fields = fields + def.fields.capacity() * std::mem::size_of::<Field>();
        self.slug.heap_size()
            + def.title.heap_size()
            + def.description.heap_size()
            + fields
            + def.webhook_url.heap_size()
            + def.embed_origins.heap_size()
            + self.webhook_secret.heap_size()
    }
}

/// The form published under `slug`, from the cache, or else from the
/// database (and then cached); `None` when there is none.
pub async fn load(db: &Db, cache: &Cache, slug: &FormSlug) -> Result<Option<Arc<CachedForm>>, FormsError> {
    if let Ok(Some((_, cached))) = cache.get_versioned::<CachedForm>(&cache_key(slug.as_str())).await {
        return Ok(Some(cached));
    }
    let Some(form) = forms::get_by_slug(db, slug).await? else {
        return Ok(None);
    };
    Ok(Some(remember(cache, form).await?))
}

/// Caches `form` as read from the database, unless the cache already holds
/// it at its version or newer, or a change to a newer version marked it
/// (so a read that raced an update cannot put the old form back), or its
/// public part is over [`MAX_CACHED_BYTES`]. The entry, cached or not.
pub async fn remember(cache: &Cache, form: StoredForm) -> Result<Arc<CachedForm>, FormsError> {
    let cached = CachedForm::of(form)?;
    if encoded_len(&cached.public).is_none_or(|len| len > MAX_CACHED_BYTES) {
        return Ok(Arc::new(cached));
    }
    let key = cache_key(&cached.form.slug);
    let version = u64::try_from(cached.form.version).unwrap_or(0);
    let stored = match serde_json::to_vec(&cached) {
        Ok(bytes) => cache.set_if_newer(&key, version, &bytes, CACHE_TTL).await,
        Err(err) => Err(err.into()),
    };
    match stored {
        // The cache being away is logged once, by its breaker.
        Err(err) if !err.is_outage() => tracing::warn!(error = %err, "could not cache a public form"),
        _ => {}
    }
    Ok(Arc::new(cached))
}

/// After a change to `version` (or a deletion, `u64::MAX`): every
/// instance sharing the cache drops the form, and no value older than
/// `version` can be cached for `CACHE_TTL`.
pub async fn forget(cache: &Cache, slug: &str, version: u64) {
    if let Err(err) = cache.mark_version(&cache_key(slug), version, CACHE_TTL).await {
        // An outage's invalidations are replayed when the cache is back.
        tracing::warn!(error = %err, "could not invalidate a cached form now");
    }
}

/// How many bytes `value` takes as JSON, counted without keeping them.
fn encoded_len(value: &impl Serialize) -> Option<usize> {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    serde_json::to_writer(&mut count, value).ok()?;
    Some(count.0)
}
