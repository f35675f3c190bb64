//! The probes of the services behind Keel: PostgreSQL's room for every
//! instance's pool (`keel.live.W001`), Redis (`E010`), the mail server or
//! folder (`E020`) and media storage (`E030`). A probe whose settings
//! another check already finds unusable (an unreachable database, an
//! invalid mail URL) stays quiet rather than report the same thing twice.

use std::convert::Infallible;

use bytes::Bytes;
use futures_util::TryStreamExt;

use super::{describe, shown_url, within, PROBE_TIMEOUT};
use crate::checks::registry as r;
use crate::checks::Finding;
use crate::core::Core;
use crate::db::Db;
use crate::outbox::mail::Mailer;
use crate::settings::{expose, CacheBackendKind, EmailBackendKind, MediaStorage, Settings};
use crate::storage::{MediaStore, ObjectKey, StorageError};

/// What PostgreSQL lets clients open (`SHOW max_connections` and the
/// connections it keeps for superusers and, from PostgreSQL 16, for the
/// `pg_use_reserved_connections` role).
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct ConnectionLimits {
    pub max_connections: i32,
    pub superuser_reserved: i32,
    pub reserved: i32,
}

impl ConnectionLimits {
    /// The connections an ordinary user such as Keel's may open.
    pub fn available(&self) -> i64 {
        i64::from(self.max_connections) - i64::from(self.superuser_reserved) - i64::from(self.reserved)
    }
}

const LIMITS_SQL: &str = "SELECT current_setting('max_connections')::int AS max_connections, \
current_setting('superuser_reserved_connections')::int AS superuser_reserved, \
COALESCE(current_setting('reserved_connections', true), '0')::int AS reserved";

/// `keel.live.W001` when `instances` pools of `pool_size` connections do
/// not fit in what `limits` leave to ordinary users.
pub fn pool_finding(instances: u32, pool_size: u32, limits: &ConnectionLimits) -> Option<Finding> {
    let wanted = i64::from(instances) * i64::from(pool_size);
    let available = limits.available();
    (wanted > available).then(|| {
        Finding::new(
            &r::DB_POOL_OVER_SERVER_LIMIT,
            format!(
                "{instances} instance(s) × KEEL_DB_MAX_CONNECTIONS {pool_size} = {wanted} connections, but PostgreSQL \
                 takes {available} (max_connections {} less {} reserved for superusers and {} reserved)",
                limits.max_connections, limits.superuser_reserved, limits.reserved
            ),
        )
    })
}

/// PostgreSQL only: the pools of `instances` instances against the
/// server's limit. Quiet when the database does not answer (`keel.db.E001`
/// says so).
pub(super) async fn pool(core: &Core, instances: u32) -> Option<Finding> {
    let Db::Postgres(pool) = &core.db else {
        return None;
    };
    let query = sqlx::query_as::<_, ConnectionLimits>(LIMITS_SQL).fetch_one(pool);
    let limits = within(query).await?.ok()?;
    pool_finding(instances, core.settings.database.max_connections, &limits)
}

/// Redis only: a PING over a connection of its own (not the core's, whose
/// circuit breaker and 250 ms budget suit requests, not a probe).
pub(super) async fn cache(settings: &Settings) -> Option<Finding> {
    let CacheBackendKind::Redis(url) = &settings.cache.backend else {
        return None;
    };
    let failure = match within(ping_redis(expose(url))).await {
        Some(Ok(())) => return None,
        Some(Err(why)) => why,
        None => format!("no answer within {}s", PROBE_TIMEOUT.as_secs()),
    };
    Some(Finding::new(
        &r::CACHE_UNREACHABLE,
        format!("Redis at {} did not answer PING: {failure}", shown_url(expose(url))),
    ))
}

async fn ping_redis(url: &str) -> Result<(), String> {
    let reason = |err: redis::RedisError| {
        if err.is_connection_refusal() {
            "connection refused".to_owned()
        } else if err.is_timeout() {
            "timed out".to_owned()
        } else {
            err.to_string()
        }
    };
    let client = redis::Client::open(url).map_err(reason)?;
    let mut conn = client.get_multiplexed_async_connection().await.map_err(reason)?;
    let pong: String = redis::cmd("PING").query_async(&mut conn).await.map_err(reason)?;
    if pong == "PONG" {
        Ok(())
    } else {
        Err(format!("it answered {pong:?}"))
    }
}

/// The mail backend, tried without sending: SMTP connected to and logged
/// in to, a file backend's folder written in. Quiet when the settings
/// themselves are unusable (`keel.email.E001` says so).
pub(super) async fn mail(settings: &Settings) -> Option<Finding> {
    let mailer = Mailer::from_settings(&settings.email).ok()?;
    let failure = match within(mailer.check_connection()).await {
        Some(Ok(())) => return None,
        Some(Err(err)) => err.reason(),
        None => format!("no answer within {}s", PROBE_TIMEOUT.as_secs()),
    };
    let target = match &settings.email.backend {
        EmailBackendKind::Smtp(url) => format!("the mail server at {}", shown_url(expose(url))),
        EmailBackendKind::File { dir } => format!("the mail folder {}", dir.display()),
        EmailBackendKind::Console => "the console".to_owned(),
    };
    Some(Finding::new(&r::MAIL_UNREACHABLE, format!("{target}: {failure}")))
}

/// Media storage: a small probe object written, read back, compared and
/// deleted, under `keel-live-probe/`.
pub(super) async fn media(core: &Core) -> Option<Finding> {
    let key = ObjectKey::parse(&format!("keel-live-probe/{}", uuid::Uuid::new_v4().simple()))?;
    let failure = match within(round_trip(&core.media, &key)).await {
        Some(Ok(())) => return None,
        Some(Err(why)) => why,
        None => format!("no answer within {}s", PROBE_TIMEOUT.as_secs()),
    };
    let target = match &core.settings.files.media_storage {
        MediaStorage::File { root } => format!("the media folder {}", root.display()),
        MediaStorage::S3 { bucket, prefix } => format!("the media bucket s3://{bucket}/{prefix}"),
    };
    Some(Finding::new(&r::MEDIA_UNWRITABLE, format!("{target}: {failure}")))
}

async fn round_trip(media: &MediaStore, key: &ObjectKey) -> Result<(), String> {
    let body = Bytes::from(format!("written by keel check --live as {key}"));
    let stream = futures_util::stream::once(std::future::ready(Ok::<_, Infallible>(body.clone())));
    media.put_stream(key, stream, 1024).await.map_err(|err| match err {
        // S3 answers a write to a missing bucket with NoSuchBucket (404).
        StorageError::NotFound(_) => "cannot write a probe object: not found (does the bucket exist?)".to_owned(),
        other => format!("cannot write a probe object: {}", describe(&other)),
    })?;
    let read = async {
        let object = media.get(key, None).await?;
        object
            .stream
            .try_fold(Vec::new(), |mut all, chunk| async move {
                all.extend_from_slice(&chunk);
                Ok(all)
            })
            .await
    };
    let checked = match read.await {
        Ok(bytes) if bytes == body.as_ref() => Ok(()),
        Ok(_) => Err("the probe object came back different".to_owned()),
        Err(err) => Err(format!("cannot read the probe object back: {}", describe(&err))),
    };
    let deleted = media
        .delete(key)
        .await
        .map_err(|err| format!("cannot delete the probe object {key}: {}", describe(&err)));
    checked.and(deleted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pools_over_what_postgres_leaves_to_ordinary_users_are_reported() {
        let limits = ConnectionLimits {
            max_connections: 100,
            superuser_reserved: 3,
            reserved: 0,
        };
        let cases = [
            (1, 10, false, "one pool of 10 in 97"),
            (9, 10, false, "90 connections in 97"),
            (10, 10, true, "100 connections over 97"),
            (97, 1, false, "exactly the room there is"),
            (98, 1, true, "one over"),
        ];
        for (instances, pool, warned, why) in cases {
            assert_eq!(pool_finding(instances, pool, &limits).is_some(), warned, "{why}");
        }
        let with_reserved = ConnectionLimits { reserved: 10, ..limits };
        let finding = pool_finding(9, 10, &with_reserved).expect("90 over 87");
        assert_eq!(finding.id, "keel.live.W001");
        assert!(finding.message.contains("87"), "{}", finding.message);
    }
}
