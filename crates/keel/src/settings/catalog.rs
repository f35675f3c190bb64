//! The catalog: every setting Keel reads, documented once, here.
//!
//! Each entry names the variable, says what it means, whether it is a secret
//! and what its built-in default is in each profile. This table feeds the
//! loader (which names it knows), `keel settings show`, the `.env.example`
//! that `deploy render` writes, and the README's settings reference (a test
//! keeps the README in step with it).

use super::Profile;

/// How a value is shown by `settings show` and in logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sensitivity {
    /// Shown as is.
    Plain,
    /// Never shown: `********`.
    Secret,
    /// A URL whose password (if any) is a secret: shown with the password
    /// replaced by `********`. May be given as `NAME_FILE` like a secret.
    UrlWithPassword,
}

/// One setting in the catalog.
#[derive(Debug)]
pub struct SettingSpec {
    /// The environment variable (and, lowercased without `KEEL_`, the
    /// `keel.toml` key).
    pub name: &'static str,
    /// What it means; shown by `settings show --all` and in the README.
    pub doc: &'static str,
    pub sensitivity: Sensitivity,
    /// The built-in default of the `dev` and `test` profiles; `None` is unset.
    pub default: Option<&'static str>,
    /// The built-in default of the `prod` profile when it differs from `dev`.
    pub prod_default: Option<Option<&'static str>>,
}

impl SettingSpec {
    /// The built-in default for `profile`.
    pub fn default_for(&self, profile: Profile) -> Option<&'static str> {
        match (profile, self.prod_default) {
            (Profile::Prod, Some(prod)) => prod,
            _ => self.default,
        }
    }

    /// Whether `NAME_FILE` may stand for this setting.
    pub fn accepts_file(&self) -> bool {
        self.sensitivity != Sensitivity::Plain
    }

    /// The key this setting has in `keel.toml`: `KEEL_DEBUG` is `debug`,
    /// `DATABASE_URL` is `database_url`.
    pub fn toml_key(&self) -> String {
        self.name
            .strip_prefix("KEEL_")
            .unwrap_or(self.name)
            .to_ascii_lowercase()
    }
}

const fn plain(name: &'static str, default: Option<&'static str>, doc: &'static str) -> SettingSpec {
    SettingSpec {
        name,
        doc,
        sensitivity: Sensitivity::Plain,
        default,
        prod_default: None,
    }
}

const fn prod(mut spec: SettingSpec, prod_default: Option<&'static str>) -> SettingSpec {
    spec.prod_default = Some(prod_default);
    spec
}

const fn secret(mut spec: SettingSpec) -> SettingSpec {
    spec.sensitivity = Sensitivity::Secret;
    spec
}

const fn url_secret(mut spec: SettingSpec) -> SettingSpec {
    spec.sensitivity = Sensitivity::UrlWithPassword;
    spec
}

/// Every setting, in the order `settings show` prints them.
pub static CATALOG: &[SettingSpec] = &[
    plain("KEEL_ENV", Some("dev"), "Profile: `dev`, `prod` or `test` (Django's DJANGO_SETTINGS_MODULE). Chooses the built-in defaults and the `keel.toml` section."),
    plain("KEEL_PUBLIC_URL", Some("http://localhost:8000"), "The site's public address, e.g. `https://forms.example.com`. Allowed hosts, trusted CSRF origins, secure cookies, SSL redirect and HSTS default from it."),
    secret(plain("KEEL_SECRET_KEY", None, "Signing key (SECRET_KEY). In `dev` and `test` a random key is generated and kept in `var/secret_key`; `prod` never generates one.")),
    secret(plain("KEEL_SECRET_KEY_FALLBACKS", Some(""), "Old signing keys still accepted when verifying, comma-separated (SECRET_KEY_FALLBACKS).")),
    prod(plain("KEEL_DEBUG", Some("true"), "Detailed error pages (DEBUG). Never allowed in `prod`."), Some("false")),
    plain("KEEL_ALLOWED_HOSTS", Some("localhost,127.0.0.1,[::1]"), "Host names this site answers to (ALLOWED_HOSTS); `.example.com` matches the domain and its subdomains."),
    plain("KEEL_BIND", Some("127.0.0.1:8000"), "Address `keel serve` listens on."),
    url_secret(plain("DATABASE_URL", Some("sqlite://var/keel.sqlite3"), "`sqlite://path` or `postgres://user:pass@host:port/db` (DATABASES).")),
    plain("KEEL_DB_MAX_CONNECTIONS", Some("10"), "Database pool size, per process."),
    plain("KEEL_DB_CONN_MAX_AGE", Some("600"), "Seconds a database connection is kept before it is replaced (CONN_MAX_AGE)."),
    url_secret(plain("KEEL_CACHE_URL", Some("memory://"), "`memory://` (per process) or `redis://[user:pass@]host:port[/db]` (CACHES).")),
    plain("KEEL_CACHE_KEY_PREFIX", Some("keel"), "Prefix of every cache key, so several sites can share one Redis (KEY_PREFIX)."),
    plain("KEEL_CACHE_VERSION", Some("1"), "Version mixed into every cache key; raise it to drop every cached value at once (VERSION)."),
    plain("KEEL_STATIC_URL", Some("/static/"), "URL prefix of static files (STATIC_URL)."),
    plain("KEEL_STATIC_ROOT", Some("var/static"), "Folder `collectstatic` writes to and `prod` serves from (STATIC_ROOT)."),
    plain("KEEL_STATICFILES_DIRS", Some(""), "Extra folders of static files, comma-separated; they take precedence over the built-in files, earlier folders over later ones (STATICFILES_DIRS)."),
    plain("KEEL_MEDIA_URL", Some("/media/"), "URL prefix of uploaded files (MEDIA_URL)."),
    plain("KEEL_MEDIA_STORAGE", Some("file://var/media"), "Where uploads are stored: `file://dir` or `s3://bucket/prefix` (MEDIA_ROOT, django-storages)."),
    plain("KEEL_S3_ENDPOINT", None, "S3-compatible endpoint URL; unset means AWS."),
    plain("KEEL_S3_REGION", None, "S3 region."),
    secret(plain("KEEL_S3_ACCESS_KEY_ID", None, "S3 access key id.")),
    secret(plain("KEEL_S3_SECRET_ACCESS_KEY", None, "S3 secret access key.")),
    plain("KEEL_MEDIA_ACCEL_REDIRECT", Some(""), "When set (e.g. `/protected-media/`), downloads are authorized by Keel and sent by nginx through `X-Accel-Redirect` to this internal location; empty streams them from Keel."),
    plain("KEEL_MAX_UPLOAD_BYTES", Some("10MiB"), "Largest single uploaded file; a size such as `10MiB` or a number of bytes."),
    plain("KEEL_MAX_BODY_BYTES", Some("1MiB"), "Largest non-multipart request body (DATA_UPLOAD_MAX_MEMORY_SIZE)."),
    plain("KEEL_SECURE_SSL_REDIRECT", None, "Redirect plain-http requests to https (SECURE_SSL_REDIRECT). Defaults to on when `KEEL_PUBLIC_URL` is https in `prod`."),
    plain("KEEL_SECURE_PROXY_SSL_HEADER", None, "The header a trusted proxy sets on https requests, e.g. `X-Forwarded-Proto: https` (SECURE_PROXY_SSL_HEADER)."),
    plain("KEEL_SECURE_HSTS_SECONDS", None, "HSTS max-age in seconds; 0 sends no HSTS header (SECURE_HSTS_SECONDS)."),
    plain("KEEL_SECURE_HSTS_INCLUDE_SUBDOMAINS", None, "Add `includeSubDomains` to HSTS."),
    plain("KEEL_SECURE_HSTS_PRELOAD", Some("false"), "Add `preload` to HSTS."),
    plain("KEEL_SESSION_COOKIE_SECURE", None, "Send the session cookie only over https. Defaults to on when `KEEL_PUBLIC_URL` is https."),
    plain("KEEL_CSRF_COOKIE_SECURE", None, "Send the CSRF cookie only over https. Defaults to on when `KEEL_PUBLIC_URL` is https."),
    plain("KEEL_SESSION_COOKIE_AGE", Some("2w"), "Session lifetime: seconds, or a number with `s`, `m`, `h`, `d` or `w`."),
    plain("KEEL_CSRF_TRUSTED_ORIGINS", None, "Origins trusted for unsafe requests besides the site's own (CSRF_TRUSTED_ORIGINS). Defaults to the origin of `KEEL_PUBLIC_URL`."),
    prod(plain("KEEL_CORS_ALLOWED_ORIGINS", Some("http://localhost:5173"), "Origins allowed to call the API from a browser (django-cors-headers)."), Some("")),
    plain("KEEL_CORS_ALLOW_CREDENTIALS", Some("true"), "Allow cookies on cross-origin API calls."),
    url_secret(plain("KEEL_EMAIL_URL", Some("console://"), "`smtp://user:pass@host:587?tls=starttls`, `console://` or `file://dir` (EMAIL_BACKEND).")),
    plain("KEEL_DEFAULT_FROM_EMAIL", Some("webmaster@localhost"), "Sender of mail to users (DEFAULT_FROM_EMAIL)."),
    plain("KEEL_SERVER_EMAIL", Some("root@localhost"), "Sender of error reports (SERVER_EMAIL)."),
    plain("KEEL_ADMINS", Some(""), "Who gets error reports: `Name <addr>`, comma-separated (ADMINS)."),
    plain("KEEL_MANAGERS", Some(""), "Who gets broken-link reports: `Name <addr>`, comma-separated (MANAGERS)."),
    plain("KEEL_LOG_LEVEL", Some("info"), "Log filter: a level (`info`) or directives (`info,keel=debug`) (LOGGING)."),
    prod(plain("KEEL_LOG_FORMAT", Some("text"), "Log format: `text` or `json`."), Some("json")),
    plain("KEEL_LOG_FILE", None, "Also append logs to this file."),
    url_secret(plain("KEEL_SENTRY_DSN", None, "Error monitoring DSN.")),
    prod(plain("KEEL_SIGNUP_OPEN", Some("true"), "Whether anyone may sign up."), Some("false")),
    plain("KEEL_TRUSTED_PROXIES", Some(""), "Addresses or CIDRs whose `X-Forwarded-For` names the client; from anyone else it is ignored."),
    plain("KEEL_METRICS_BIND", Some("127.0.0.1:9100"), "Separate listener for `/metrics`, never the public one; empty disables it."),
    plain("KEEL_LOGIN_RATE", Some("10/15m"), "Failed logins allowed per account and per client address, `N/period`."),
    plain("KEEL_SIGNUP_RATE", Some("20/1h"), "Sign-ups allowed per client address, `N/period`; over it, refused before any password hashing."),
    plain("KEEL_SUBMISSION_RATE", Some("30/1m"), "Public submissions allowed per client address and form, `N/period`."),
    plain("KEEL_SUBMISSION_TOKEN_AGE", Some("86400"), "Lifetime of a public form's submission token, in seconds."),
    plain("KEEL_WEBHOOK_ALLOW_PRIVATE", Some("false"), "Allow webhook URLs that resolve to loopback, private or link-local addresses (off: the SSRF guard refuses them)."),
    plain("KEEL_OUTBOX_MAX_ATTEMPTS", Some("8"), "Delivery attempts of an email or webhook before it is dead-lettered."),
    plain("KEEL_SHUTDOWN_TIMEOUT", Some("30"), "Seconds `serve` waits for in-flight requests after SIGTERM before it exits."),
    plain("KEEL_REQUEST_TIMEOUT", Some("30"), "Seconds a request may take before it is answered 503 (uploads: KEEL_UPLOAD_TIMEOUT)."),
    plain("KEEL_UPLOAD_TIMEOUT", Some("300"), "Seconds a request with a multipart body (file uploads) may take before it is answered 503."),
    plain("KEEL_BODY_READ_TIMEOUT", Some("20"), "Seconds a client may take to send a request body that is not an upload before it is answered 408."),
    plain("KEEL_HEADER_READ_TIMEOUT", Some("10"), "Seconds a client may take to send a request's headers, counted from its first byte (or from connecting); then the connection is closed."),
    plain("KEEL_KEEPALIVE_TIMEOUT", Some("75"), "Seconds an idle keep-alive connection is kept open between requests (keep it above the proxy's upstream keep-alive timeout)."),
    plain("KEEL_MAX_HEADER_BYTES", Some("64KiB"), "The largest request head (request line and headers); a larger one is answered 431."),
    plain("KEEL_MAX_CONNECTIONS", Some("auto"), "Open connections per instance; one more is answered 503 and closed at once. `auto`: three quarters of the file-descriptor limit."),
    plain("KEEL_MAX_CONCURRENT_REQUESTS", Some("1024"), "Requests handled at once per instance; above it a request is answered 503 with Retry-After at once (load shedding). Health checks are never shed."),
];

/// Settings whose default follows from `KEEL_PUBLIC_URL` (see
/// `sections::derive_from_public_url`); `KEEL_ALLOWED_HOSTS` does too, but
/// only when the public URL is set explicitly.
pub const DERIVED_FROM_PUBLIC_URL: &[&str] = &[
    "KEEL_CSRF_TRUSTED_ORIGINS",
    "KEEL_SESSION_COOKIE_SECURE",
    "KEEL_CSRF_COOKIE_SECURE",
    "KEEL_SECURE_SSL_REDIRECT",
    "KEEL_SECURE_HSTS_SECONDS",
    "KEEL_SECURE_HSTS_INCLUDE_SUBDOMAINS",
];

/// The catalog entry named `name`.
pub fn find(name: &str) -> Option<&'static SettingSpec> {
    CATALOG.iter().find(|spec| spec.name == name)
}

/// The settings reference as a Markdown table, for the README (a test keeps
/// the README's copy equal to this).
pub fn reference_markdown() -> String {
    let mut out =
        String::from("| variable | dev / test default | prod default | secret | meaning |\n|---|---|---|---|---|\n");
    for spec in CATALOG {
        let show = |value: Option<&str>| match value {
            None => "unset".to_owned(),
            Some("") => "empty".to_owned(),
            Some(v) => format!("`{v}`"),
        };
        let derived = DERIVED_FROM_PUBLIC_URL.contains(&spec.name);
        let (dev, prod) = if derived {
            ("from `KEEL_PUBLIC_URL`".to_owned(), "from `KEEL_PUBLIC_URL`".to_owned())
        } else {
            (show(spec.default), show(spec.default_for(Profile::Prod)))
        };
        let secret = match spec.sensitivity {
            Sensitivity::Plain => "",
            Sensitivity::Secret => "yes",
            Sensitivity::UrlWithPassword => "password",
        };
        out.push_str(&format!(
            "| `{}` | {dev} | {prod} | {secret} | {} |\n",
            spec.name,
            spec.doc.replace('|', "\\|")
        ));
    }
    out
}
