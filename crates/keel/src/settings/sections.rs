//! The typed sections of [`Settings`](super::Settings) and the step that
//! builds them from the resolved raw strings. Each service receives only its
//! own section.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use super::parse::{self, Rate};
use super::sources::{Raw, Resolved, Source};
use super::{shown_settings, Profile, Settings, SettingsError};

/// Signing keys.
#[derive(Debug, Clone)]
pub struct SecretSettings {
    /// `None` only in `prod` without a configured key (a check error).
    pub key: Option<SecretString>,
    pub fallbacks: Vec<SecretString>,
    /// Where the key came from (a generated development key is a check error
    /// in `prod`).
    pub key_source: Option<Source>,
}

/// The security middleware's settings.
#[derive(Debug, Clone)]
pub struct SecuritySettings {
    pub allowed_hosts: Vec<String>,
    pub ssl_redirect: bool,
    /// Header name (lowercase) and the value that marks a request as https.
    pub proxy_ssl_header: Option<(String, String)>,
    pub hsts_seconds: u64,
    pub hsts_include_subdomains: bool,
    pub hsts_preload: bool,
    pub session_cookie_secure: bool,
    pub csrf_cookie_secure: bool,
    pub session_cookie_age: Duration,
    pub csrf_trusted_origins: Vec<String>,
    pub cors_allowed_origins: Vec<String>,
    pub cors_allow_credentials: bool,
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub signup_open: bool,
    pub login_rate: Rate,
    pub signup_rate: Rate,
    pub submission_rate: Rate,
    pub submission_token_age: Duration,
}

/// Which database `DATABASE_URL` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseKind {
    /// A file (relative paths are from the working folder) or `:memory:`.
    Sqlite {
        path: PathBuf,
    },
    Postgres,
}

#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    /// The whole URL, a secret because it may hold a password.
    pub url: SecretString,
    pub kind: DatabaseKind,
    pub max_connections: u32,
    pub conn_max_age: Duration,
}

/// Which cache `KEEL_CACHE_URL` names.
#[derive(Debug, Clone)]
pub enum CacheBackendKind {
    Memory,
    /// The URL is a secret because it may hold a password.
    Redis(SecretString),
}

#[derive(Debug, Clone)]
pub struct CacheSettings {
    pub backend: CacheBackendKind,
    pub key_prefix: String,
    pub version: u32,
}

/// Where uploads are stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaStorage {
    File { root: PathBuf },
    S3 { bucket: String, prefix: String },
}

#[derive(Debug, Clone)]
pub struct S3Settings {
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub access_key_id: Option<SecretString>,
    pub secret_access_key: Option<SecretString>,
}

/// Static files and media.
#[derive(Debug, Clone)]
pub struct FileSettings {
    pub static_url: String,
    pub static_root: PathBuf,
    /// Extra static folders, highest precedence first.
    pub staticfiles_dirs: Vec<PathBuf>,
    /// The internal nginx location for `X-Accel-Redirect` downloads.
    pub media_accel_redirect: Option<String>,
    pub media_url: String,
    pub media_storage: MediaStorage,
    pub s3: S3Settings,
}

/// Which mail backend `KEEL_EMAIL_URL` names.
#[derive(Debug, Clone)]
pub enum EmailBackendKind {
    Console,
    File {
        dir: PathBuf,
    },
    /// The URL is a secret because it may hold a password.
    Smtp(SecretString),
}

#[derive(Debug, Clone)]
pub struct EmailSettings {
    pub backend: EmailBackendKind,
    pub default_from: String,
    pub server_email: String,
    pub admins: Vec<String>,
    pub managers: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone)]
pub struct LogSettings {
    pub level: String,
    pub format: LogFormat,
    pub file: Option<PathBuf>,
    pub sentry_dsn: Option<SecretString>,
}

/// Request size limits.
#[derive(Debug, Clone, Copy)]
pub struct LimitSettings {
    pub max_upload_bytes: u64,
    pub max_body_bytes: u64,
}

/// The outbox: durable emails and webhooks.
#[derive(Debug, Clone, Copy)]
pub struct OutboxSettings {
    pub max_attempts: u32,
    pub webhook_allow_private: bool,
}

/// Typed access to the resolved raw map; every error names the variable.
pub(super) struct Reader<'a> {
    values: &'a BTreeMap<&'static str, Raw>,
}

impl Reader<'_> {
    fn raw(&self, name: &'static str) -> Option<&Raw> {
        self.values.get(name)
    }

    pub(super) fn get<T>(
        &self,
        name: &'static str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<T, SettingsError> {
        let raw = self.raw(name).ok_or_else(|| SettingsError::Invalid {
            name: name.to_owned(),
            origin: "settings".to_owned(),
            problem: "is required".to_owned(),
        })?;
        parse(&raw.value).map_err(|problem| SettingsError::invalid(name, &raw.source, problem))
    }

    /// Unset and the empty string both read as `None`.
    pub(super) fn optional<T>(
        &self,
        name: &'static str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<Option<T>, SettingsError> {
        match self.raw(name) {
            Some(raw) if !raw.value.trim().is_empty() => parse(&raw.value)
                .map(Some)
                .map_err(|problem| SettingsError::invalid(name, &raw.source, problem)),
            _ => Ok(None),
        }
    }

    fn string(&self, name: &'static str) -> Result<String, SettingsError> {
        self.get(name, |s| Ok(s.trim().to_owned()))
    }

    fn list(&self, name: &'static str) -> Result<Vec<String>, SettingsError> {
        self.get(name, |s| Ok(parse::list(s)))
    }

    fn boolean(&self, name: &'static str) -> Result<bool, SettingsError> {
        self.get(name, parse::boolean)
    }

    pub(super) fn seconds(&self, name: &'static str) -> Result<Duration, SettingsError> {
        self.get(name, parse::duration)
    }
}

/// Fills in the defaults that follow from `KEEL_PUBLIC_URL`, where no
/// source set them.
fn derive_from_public_url(
    values: &mut BTreeMap<&'static str, Raw>,
    profile: Profile,
) -> Result<url::Url, SettingsError> {
    let reader = Reader { values };
    let public = reader.get("KEEL_PUBLIC_URL", |s| {
        let url = parse::url(s, &["http", "https"])?;
        if url.host_str().is_none() {
            return Err("needs a host name".to_owned());
        }
        Ok(url)
    })?;
    let explicit = values
        .get("KEEL_PUBLIC_URL")
        .is_some_and(|raw| raw.source != Source::Default(profile));
    let https = public.scheme() == "https";
    let host = public.host_str().unwrap_or_default().to_owned();
    let origin = public.origin().ascii_serialization();
    let prod_https = https && profile == Profile::Prod;
    let mut derived: Vec<(&'static str, String)> = vec![
        ("KEEL_CSRF_TRUSTED_ORIGINS", origin),
        ("KEEL_SESSION_COOKIE_SECURE", https.to_string()),
        ("KEEL_CSRF_COOKIE_SECURE", https.to_string()),
        ("KEEL_SECURE_SSL_REDIRECT", prod_https.to_string()),
        (
            "KEEL_SECURE_HSTS_SECONDS",
            if prod_https { "31536000" } else { "0" }.to_owned(),
        ),
        ("KEEL_SECURE_HSTS_INCLUDE_SUBDOMAINS", "false".to_owned()),
    ];
    if explicit {
        derived.push(("KEEL_ALLOWED_HOSTS", host));
    }
    for (name, value) in derived {
        let unset_or_default = values
            .get(name)
            .is_none_or(|raw| raw.source == Source::Default(profile));
        if unset_or_default {
            values.insert(
                name,
                Raw {
                    value,
                    source: Source::Derived("KEEL_PUBLIC_URL"),
                },
            );
        }
    }
    Ok(public)
}

/// In `dev` and `test`, a missing secret key is generated once and kept in
/// `var/secret_key`, so sessions survive restarts. `prod` never does this.
fn ensure_dev_secret_key(
    values: &mut BTreeMap<&'static str, Raw>,
    profile: Profile,
    cwd: &Path,
) -> Result<(), SettingsError> {
    if profile == Profile::Prod || values.contains_key("KEEL_SECRET_KEY") {
        return Ok(());
    }
    let path = cwd.join("var").join("secret_key");
    let file_error = |reason: String| SettingsError::File {
        path: path.clone(),
        reason,
    };
    let generate = || -> Result<String, SettingsError> {
        let key = crate::security::secret::generate_key();
        std::fs::create_dir_all(cwd.join("var")).map_err(|e| file_error(e.to_string()))?;
        write_private(&path, &key).map_err(|e| file_error(e.to_string()))?;
        Ok(key)
    };
    let key = match std::fs::read_to_string(&path) {
        Ok(text) if !text.trim().is_empty() => text.trim().to_owned(),
        Ok(_) => generate()?,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => generate()?,
        Err(err) => return Err(file_error(err.to_string())),
    };
    values.insert(
        "KEEL_SECRET_KEY",
        Raw {
            value: key,
            source: Source::Generated(path),
        },
    );
    Ok(())
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.write_all(b"\n")
}

pub(super) fn build(mut resolved: Resolved, cwd: &Path) -> Result<Settings, SettingsError> {
    let profile = resolved.profile;
    let public_url = derive_from_public_url(&mut resolved.values, profile)?;
    ensure_dev_secret_key(&mut resolved.values, profile, cwd)?;
    let shown = shown_settings(&resolved.values, profile);
    let r = Reader {
        values: &resolved.values,
    };
    let settings = Settings {
        profile,
        public_url,
        debug: r.boolean("KEEL_DEBUG")?,
        bind: r.get("KEEL_BIND", parse::socket_addr)?,
        secret: secret_settings(&r)?,
        security: security_settings(&r)?,
        database: database_settings(&r, cwd)?,
        cache: cache_settings(&r)?,
        files: file_settings(&r, cwd)?,
        email: email_settings(&r, cwd)?,
        log: log_settings(&r, cwd)?,
        limits: LimitSettings {
            max_upload_bytes: r.get("KEEL_MAX_UPLOAD_BYTES", parse::byte_size)?,
            max_body_bytes: r.get("KEEL_MAX_BODY_BYTES", parse::byte_size)?,
        },
        outbox: OutboxSettings {
            max_attempts: r.get("KEEL_OUTBOX_MAX_ATTEMPTS", |s| parse::integer(s, 1, 100))? as u32,
            webhook_allow_private: r.boolean("KEEL_WEBHOOK_ALLOW_PRIVATE")?,
        },
        server: super::server::server_settings(&r)?,
        unknown_variables: resolved.unknown,
        shown,
    };
    Ok(settings)
}

pub(super) fn positive_duration(s: &str) -> Result<Duration, String> {
    let d = parse::duration(s)?;
    if d.is_zero() {
        return Err("must be at least 1 second".to_owned());
    }
    Ok(d)
}

fn secret_settings(r: &Reader<'_>) -> Result<SecretSettings, SettingsError> {
    let key = r.optional("KEEL_SECRET_KEY", |s| Ok(SecretString::from(s.trim().to_owned())))?;
    let fallbacks = r
        .optional("KEEL_SECRET_KEY_FALLBACKS", |s| Ok(parse::list(s)))?
        .unwrap_or_default()
        .into_iter()
        .map(SecretString::from)
        .collect();
    Ok(SecretSettings {
        key,
        fallbacks,
        key_source: r.raw("KEEL_SECRET_KEY").map(|raw| raw.source.clone()),
    })
}

fn security_settings(r: &Reader<'_>) -> Result<SecuritySettings, SettingsError> {
    let cors_allow_credentials = r.boolean("KEEL_CORS_ALLOW_CREDENTIALS")?;
    let cors_allowed_origins = r.get("KEEL_CORS_ALLOWED_ORIGINS", |s| {
        let origins = parse::list(s);
        for origin in &origins {
            if origin == "*" {
                if cors_allow_credentials {
                    return Err("\"*\" with KEEL_CORS_ALLOW_CREDENTIALS=true would let every site act as the logged-in user; list the origins, or turn credentials off".to_owned());
                }
                continue;
            }
            parse_origin(origin)?;
        }
        Ok(origins)
    })?;
    Ok(SecuritySettings {
        allowed_hosts: r.list("KEEL_ALLOWED_HOSTS")?,
        ssl_redirect: r.boolean("KEEL_SECURE_SSL_REDIRECT")?,
        proxy_ssl_header: r.optional("KEEL_SECURE_PROXY_SSL_HEADER", |s| {
            let (name, value) = s.split_once(':').ok_or_else(|| {
                format!("expected `Header-Name: value` such as `X-Forwarded-Proto: https`, got {s:?}")
            })?;
            let name = name.trim();
            http::HeaderName::from_bytes(name.as_bytes()).map_err(|_| format!("{name:?} is not a header name"))?;
            Ok((name.to_ascii_lowercase(), value.trim().to_owned()))
        })?,
        hsts_seconds: r.get("KEEL_SECURE_HSTS_SECONDS", |s| parse::integer(s, 0, 10 * 365 * 86_400))?,
        hsts_include_subdomains: r.boolean("KEEL_SECURE_HSTS_INCLUDE_SUBDOMAINS")?,
        hsts_preload: r.boolean("KEEL_SECURE_HSTS_PRELOAD")?,
        session_cookie_secure: r.boolean("KEEL_SESSION_COOKIE_SECURE")?,
        csrf_cookie_secure: r.boolean("KEEL_CSRF_COOKIE_SECURE")?,
        session_cookie_age: r.seconds("KEEL_SESSION_COOKIE_AGE")?,
        csrf_trusted_origins: r.get("KEEL_CSRF_TRUSTED_ORIGINS", |s| {
            let origins = parse::list(s);
            origins.iter().try_for_each(|o| parse_origin(o).map(drop))?;
            Ok(origins)
        })?,
        cors_allowed_origins,
        cors_allow_credentials,
        trusted_proxies: r.get("KEEL_TRUSTED_PROXIES", |s| {
            parse::list(s)
                .iter()
                .map(|item| {
                    item.parse::<ipnet::IpNet>()
                        .or_else(|_| item.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                        .map_err(|_| format!("{item:?} is not an address or CIDR such as 10.0.0.0/8"))
                })
                .collect()
        })?,
        signup_open: r.boolean("KEEL_SIGNUP_OPEN")?,
        login_rate: r.get("KEEL_LOGIN_RATE", Rate::parse)?,
        signup_rate: r.get("KEEL_SIGNUP_RATE", Rate::parse)?,
        submission_rate: r.get("KEEL_SUBMISSION_RATE", Rate::parse)?,
        submission_token_age: r.seconds("KEEL_SUBMISSION_TOKEN_AGE")?,
    })
}

/// An origin is a scheme, host and optional port, nothing more.
fn parse_origin(raw: &str) -> Result<url::Url, String> {
    let url = parse::url(raw, &["http", "https"]).map_err(|e| format!("origin {raw:?}: {e}"))?;
    if url.host_str().is_none()
        || url.path() != "/"
        || url.query().is_some()
        || raw.trim_end_matches('/') != url.origin().ascii_serialization()
    {
        return Err(format!("{raw:?} is not an origin; expected scheme://host[:port]"));
    }
    Ok(url)
}

fn database_settings(r: &Reader<'_>, cwd: &Path) -> Result<DatabaseSettings, SettingsError> {
    let (url, kind) = r.get("DATABASE_URL", |s| {
        let s = s.trim();
        if let Some(rest) = s.strip_prefix("sqlite:") {
            let path = rest.strip_prefix("//").unwrap_or(rest);
            let path = path.split('?').next().unwrap_or_default();
            if path.is_empty() {
                return Err("sqlite URL needs a path, e.g. sqlite://var/keel.sqlite3".to_owned());
            }
            let path = if path == ":memory:" {
                PathBuf::from(path)
            } else {
                cwd.join(path)
            };
            return Ok((s.to_owned(), DatabaseKind::Sqlite { path }));
        }
        let url = parse::url(s, &["postgres", "postgresql", "sqlite"])?;
        if url.host_str().is_none_or(str::is_empty) {
            return Err("postgres URL needs a host".to_owned());
        }
        Ok((s.to_owned(), DatabaseKind::Postgres))
    })?;
    Ok(DatabaseSettings {
        url: SecretString::from(url),
        kind,
        max_connections: r.get("KEEL_DB_MAX_CONNECTIONS", |s| parse::integer(s, 1, 10_000))? as u32,
        conn_max_age: r.seconds("KEEL_DB_CONN_MAX_AGE")?,
    })
}

fn cache_settings(r: &Reader<'_>) -> Result<CacheSettings, SettingsError> {
    let backend = r.get("KEEL_CACHE_URL", |s| {
        let url = parse::url(s, &["memory", "redis", "rediss"])?;
        Ok(match url.scheme() {
            "memory" => CacheBackendKind::Memory,
            _ => {
                if url.host_str().is_none_or(str::is_empty) {
                    return Err("redis URL needs a host, e.g. redis://127.0.0.1:6379".to_owned());
                }
                CacheBackendKind::Redis(SecretString::from(s.trim().to_owned()))
            }
        })
    })?;
    Ok(CacheSettings {
        backend,
        key_prefix: r.get("KEEL_CACHE_KEY_PREFIX", |s| {
            if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err("must not contain spaces or control characters".to_owned());
            }
            Ok(s.to_owned())
        })?,
        version: r.get("KEEL_CACHE_VERSION", |s| parse::integer(s, 0, u32::MAX as u64))? as u32,
    })
}

/// `file://var/media` is the folder `var/media` under the working folder;
/// `file:///srv/media` is absolute.
fn file_url_path(s: &str, cwd: &Path) -> Result<PathBuf, String> {
    let rest = s
        .trim()
        .strip_prefix("file://")
        .ok_or_else(|| format!("expected file://folder, got {s:?}"))?;
    if rest.is_empty() {
        return Err("file URL needs a folder, e.g. file://var/media".to_owned());
    }
    Ok(cwd.join(rest))
}

fn url_prefix(s: &str) -> Result<String, String> {
    let s = s.trim();
    let ok_absolute = parse::url(s, &["http", "https"]).is_ok();
    if !(s.starts_with('/') || ok_absolute) || !s.ends_with('/') {
        return Err(format!(
            "expected a path or URL that ends with '/', such as /static/, got {s:?}"
        ));
    }
    Ok(s.to_owned())
}

fn file_settings(r: &Reader<'_>, cwd: &Path) -> Result<FileSettings, SettingsError> {
    let media_storage = r.get("KEEL_MEDIA_STORAGE", |s| {
        if s.trim().starts_with("s3://") {
            let url = parse::url(s, &["s3"])?;
            let bucket = url
                .host_str()
                .filter(|b| !b.is_empty())
                .ok_or("s3 URL needs a bucket, e.g. s3://bucket/prefix")?;
            Ok(MediaStorage::S3 {
                bucket: bucket.to_owned(),
                prefix: url.path().trim_matches('/').to_owned(),
            })
        } else {
            file_url_path(s, cwd).map(|root| MediaStorage::File { root })
        }
    })?;
    let secret = |name| r.optional(name, |s| Ok(SecretString::from(s.trim().to_owned())));
    Ok(FileSettings {
        static_url: r.get("KEEL_STATIC_URL", url_prefix)?,
        static_root: cwd.join(r.string("KEEL_STATIC_ROOT")?),
        staticfiles_dirs: r
            .list("KEEL_STATICFILES_DIRS")?
            .into_iter()
            .map(|d| cwd.join(d))
            .collect(),
        media_accel_redirect: r.optional("KEEL_MEDIA_ACCEL_REDIRECT", url_prefix)?,
        media_url: r.get("KEEL_MEDIA_URL", url_prefix)?,
        media_storage,
        s3: S3Settings {
            endpoint: r.optional("KEEL_S3_ENDPOINT", |s| {
                parse::url(s, &["http", "https"]).map(|u| u.to_string())
            })?,
            region: r.optional("KEEL_S3_REGION", |s| Ok(s.trim().to_owned()))?,
            access_key_id: secret("KEEL_S3_ACCESS_KEY_ID")?,
            secret_access_key: secret("KEEL_S3_SECRET_ACCESS_KEY")?,
        },
    })
}

fn email_settings(r: &Reader<'_>, cwd: &Path) -> Result<EmailSettings, SettingsError> {
    let backend = r.get("KEEL_EMAIL_URL", |s| {
        let s = s.trim();
        if s == "console://" || s == "console:" {
            return Ok(EmailBackendKind::Console);
        }
        if s.starts_with("file://") {
            return file_url_path(s, cwd).map(|dir| EmailBackendKind::File { dir });
        }
        let url = parse::url(s, &["smtp", "smtps", "console", "file"])?;
        if url.host_str().is_none_or(str::is_empty) {
            return Err("smtp URL needs a host, e.g. smtp://user:pass@mail.example.com:587".to_owned());
        }
        Ok(EmailBackendKind::Smtp(SecretString::from(s.to_owned())))
    })?;
    Ok(EmailSettings {
        backend,
        default_from: r.string("KEEL_DEFAULT_FROM_EMAIL")?,
        server_email: r.string("KEEL_SERVER_EMAIL")?,
        admins: r.list("KEEL_ADMINS")?,
        managers: r.list("KEEL_MANAGERS")?,
    })
}

fn log_settings(r: &Reader<'_>, cwd: &Path) -> Result<LogSettings, SettingsError> {
    Ok(LogSettings {
        level: r.get("KEEL_LOG_LEVEL", |s| {
            tracing_subscriber::EnvFilter::builder()
                .parse(s.trim())
                .map_err(|e| format!("not a log level or filter: {e}"))?;
            Ok(s.trim().to_owned())
        })?,
        format: r.get("KEEL_LOG_FORMAT", |s| match s.trim() {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(format!("expected text or json, got {other:?}")),
        })?,
        file: r.optional("KEEL_LOG_FILE", |s| Ok(cwd.join(s.trim())))?,
        sentry_dsn: r.optional("KEEL_SENTRY_DSN", |s| {
            parse::url(s, &["http", "https"])?;
            Ok(SecretString::from(s.trim().to_owned()))
        })?,
    })
}

/// Lets code that must hand a secret to a client library say so at the
/// call site.
pub fn expose(secret: &SecretString) -> &str {
    secret.expose_secret()
}
