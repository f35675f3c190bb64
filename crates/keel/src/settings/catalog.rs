//! The catalog: every setting Keel reads, documented once, here.
//!
//! Each entry names the variable, says what it means, whether it is a secret
//! and what its built-in default is in each profile. This table feeds the
//! loader (which names it knows), `keel settings show`, the `.env.example`
//! that `deploy render` writes, and the README's settings reference (a test
//! keeps the README in step with it).

use super::profile::Profile;

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
    /// A plain setting with the same default in every profile.
    pub const fn plain(name: &'static str, default: Option<&'static str>, doc: &'static str) -> Self {
        Self {
            name,
            doc,
            sensitivity: Sensitivity::Plain,
            default,
            prod_default: None,
        }
    }

    /// The same with another default in `prod`.
    pub const fn prod(mut self, prod_default: Option<&'static str>) -> Self {
        self.prod_default = Some(prod_default);
        self
    }

    /// The same, never shown.
    pub const fn secret(mut self) -> Self {
        self.sensitivity = Sensitivity::Secret;
        self
    }

    /// The same, a URL whose password is never shown.
    pub const fn url_secret(mut self) -> Self {
        self.sensitivity = Sensitivity::UrlWithPassword;
        self
    }

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

/// Declares settings: one constant per setting and one list of them all,
/// so each name is written once and a reader naming a setting that does
/// not exist does not compile. Apps use it for their own sections.
///
/// ```
/// use keel::settings::catalog::SettingSpec as S;
/// keel::settings_catalog! {
///     /// The greeting app's settings.
///     pub static GREETING_SETTINGS;
///     GREETING = S::plain("KEEL_GREETING", Some("Hello"), "What the greeting says.");
/// }
/// assert_eq!(GREETING_SETTINGS[0].name, GREETING.name);
/// ```
#[macro_export]
macro_rules! settings_catalog {
    ($(#[$list_meta:meta])* $vis:vis static $list:ident; $($const:ident = $spec:expr;)+) => {
        $(
            #[doc = concat!("The `", stringify!($const), "` setting (see its `doc`).")]
            $vis const $const: &$crate::settings::catalog::SettingSpec = &$spec;
        )+
        $(#[$list_meta])*
        $vis static $list: &[&$crate::settings::catalog::SettingSpec] = &[$($const),+];
    };
}

use SettingSpec as S;

crate::settings_catalog! {
    /// Every setting of the core, in the order `settings show` prints them.
    pub static CORE;
    ENV = S::plain("KEEL_ENV", Some("dev"), "Profile: `dev`, `prod` or `test` (Django's DJANGO_SETTINGS_MODULE). Chooses the built-in defaults and the `keel.toml` section.");
    PUBLIC_URL = S::plain("KEEL_PUBLIC_URL", Some("http://localhost:8000"), "The site's public address, e.g. `https://forms.example.com`. Allowed hosts, trusted CSRF origins, secure cookies, SSL redirect and HSTS default from it.");
    SECRET_KEY = S::plain("KEEL_SECRET_KEY", None, "Signing key (SECRET_KEY). In `dev` and `test` a random key is generated and kept in `var/secret_key`; `prod` never generates one.").secret();
    SECRET_KEY_FALLBACKS = S::plain("KEEL_SECRET_KEY_FALLBACKS", Some(""), "Old signing keys still accepted when verifying, comma-separated (SECRET_KEY_FALLBACKS).").secret();
    DEBUG = S::plain("KEEL_DEBUG", Some("true"), "Detailed error pages (DEBUG). Never allowed in `prod`.").prod(Some("false"));
    ALLOWED_HOSTS = S::plain("KEEL_ALLOWED_HOSTS", Some("localhost,127.0.0.1,[::1]"), "Host names this site answers to (ALLOWED_HOSTS); `.example.com` matches the domain and its subdomains.");
    BIND = S::plain("KEEL_BIND", Some("127.0.0.1:8000"), "Address `keel serve` listens on.");
    DATABASE_URL = S::plain("DATABASE_URL", Some("sqlite://var/keel.sqlite3"), "`sqlite://path` or `postgres://user:pass@host:port/db` (DATABASES).").url_secret();
    DB_MAX_CONNECTIONS = S::plain("KEEL_DB_MAX_CONNECTIONS", Some("10"), "Database pool size, per process.");
    DB_CONN_MAX_AGE = S::plain("KEEL_DB_CONN_MAX_AGE", Some("600"), "Seconds a database connection is kept before it is replaced (CONN_MAX_AGE).");
    CACHE_URL = S::plain("KEEL_CACHE_URL", Some("memory://"), "`memory://` (per process) or `redis://[user:pass@]host:port[/db]` (CACHES).").url_secret();
    CACHE_KEY_PREFIX = S::plain("KEEL_CACHE_KEY_PREFIX", Some("keel"), "Prefix of every cache key, so several sites can share one Redis (KEY_PREFIX).");
    CACHE_VERSION = S::plain("KEEL_CACHE_VERSION", Some("1"), "Version mixed into every cache key; raise it to drop every cached value at once (VERSION).");
    STATIC_URL = S::plain("KEEL_STATIC_URL", Some("/static/"), "URL prefix of static files (STATIC_URL).");
    STATIC_ROOT = S::plain("KEEL_STATIC_ROOT", Some("var/static"), "Folder `collectstatic` writes to and `prod` serves from (STATIC_ROOT).");
    STATICFILES_DIRS = S::plain("KEEL_STATICFILES_DIRS", Some(""), "Extra folders of static files, comma-separated; they take precedence over the built-in files, earlier folders over later ones (STATICFILES_DIRS).");
    MEDIA_URL = S::plain("KEEL_MEDIA_URL", Some("/media/"), "URL prefix of uploaded files (MEDIA_URL).");
    MEDIA_STORAGE = S::plain("KEEL_MEDIA_STORAGE", Some("file://var/media"), "Where uploads are stored: `file://dir` or `s3://bucket/prefix` (MEDIA_ROOT, django-storages).");
    S3_ENDPOINT = S::plain("KEEL_S3_ENDPOINT", None, "S3-compatible endpoint URL; unset means AWS.");
    S3_REGION = S::plain("KEEL_S3_REGION", None, "S3 region.");
    S3_ACCESS_KEY_ID = S::plain("KEEL_S3_ACCESS_KEY_ID", None, "S3 access key id.").secret();
    S3_SECRET_ACCESS_KEY = S::plain("KEEL_S3_SECRET_ACCESS_KEY", None, "S3 secret access key.").secret();
    MEDIA_ACCEL_REDIRECT = S::plain("KEEL_MEDIA_ACCEL_REDIRECT", Some(""), "When set (e.g. `/protected-media/`), downloads are authorized by Keel and sent by nginx through `X-Accel-Redirect` to this internal location; empty streams them from Keel.");
    MAX_UPLOAD_BYTES = S::plain("KEEL_MAX_UPLOAD_BYTES", Some("10MiB"), "Largest single uploaded file; a size such as `10MiB` or a number of bytes.");
    MAX_BODY_BYTES = S::plain("KEEL_MAX_BODY_BYTES", Some("1MiB"), "Largest non-multipart request body (DATA_UPLOAD_MAX_MEMORY_SIZE).");
    SECURE_SSL_REDIRECT = S::plain("KEEL_SECURE_SSL_REDIRECT", None, "Redirect plain-http requests to https (SECURE_SSL_REDIRECT). Defaults to on when `KEEL_PUBLIC_URL` is https in `prod`.");
    SECURE_PROXY_SSL_HEADER = S::plain("KEEL_SECURE_PROXY_SSL_HEADER", None, "The header a trusted proxy sets on https requests, e.g. `X-Forwarded-Proto: https` (SECURE_PROXY_SSL_HEADER).");
    SECURE_HSTS_SECONDS = S::plain("KEEL_SECURE_HSTS_SECONDS", None, "HSTS max-age in seconds; 0 sends no HSTS header (SECURE_HSTS_SECONDS).");
    SECURE_HSTS_INCLUDE_SUBDOMAINS = S::plain("KEEL_SECURE_HSTS_INCLUDE_SUBDOMAINS", None, "Add `includeSubDomains` to HSTS.");
    SECURE_HSTS_PRELOAD = S::plain("KEEL_SECURE_HSTS_PRELOAD", Some("false"), "Add `preload` to HSTS.");
    SESSION_COOKIE_SECURE = S::plain("KEEL_SESSION_COOKIE_SECURE", None, "Send the session cookie only over https. Defaults to on when `KEEL_PUBLIC_URL` is https.");
    CSRF_COOKIE_SECURE = S::plain("KEEL_CSRF_COOKIE_SECURE", None, "Send the CSRF cookie only over https. Defaults to on when `KEEL_PUBLIC_URL` is https.");
    SESSION_COOKIE_AGE = S::plain("KEEL_SESSION_COOKIE_AGE", Some("2w"), "Session lifetime: seconds, or a number with `s`, `m`, `h`, `d` or `w`.");
    CSRF_TRUSTED_ORIGINS = S::plain("KEEL_CSRF_TRUSTED_ORIGINS", None, "Origins trusted for unsafe requests besides the site's own (CSRF_TRUSTED_ORIGINS). Defaults to the origin of `KEEL_PUBLIC_URL`.");
    CORS_ALLOWED_ORIGINS = S::plain("KEEL_CORS_ALLOWED_ORIGINS", Some("http://localhost:5173"), "Origins allowed to call the API from a browser (django-cors-headers).").prod(Some(""));
    CORS_ALLOW_CREDENTIALS = S::plain("KEEL_CORS_ALLOW_CREDENTIALS", Some("true"), "Allow cookies on cross-origin API calls.");
    EMAIL_URL = S::plain("KEEL_EMAIL_URL", Some("console://"), "`smtp://user:pass@host:587?tls=starttls`, `console://` or `file://dir` (EMAIL_BACKEND).").url_secret();
    DEFAULT_FROM_EMAIL = S::plain("KEEL_DEFAULT_FROM_EMAIL", Some("webmaster@localhost"), "Sender of mail to users (DEFAULT_FROM_EMAIL).");
    SERVER_EMAIL = S::plain("KEEL_SERVER_EMAIL", Some("root@localhost"), "Sender of error reports (SERVER_EMAIL).");
    ADMINS = S::plain("KEEL_ADMINS", Some(""), "Who gets error reports: `Name <addr>`, comma-separated (ADMINS).");
    MANAGERS = S::plain("KEEL_MANAGERS", Some(""), "Who gets broken-link reports: `Name <addr>`, comma-separated (MANAGERS).");
    IGNORABLE_404_URLS = S::plain("KEEL_IGNORABLE_404_URLS", Some(""), "Regular expressions of paths whose 404s are never reported to KEEL_MANAGERS, comma-separated (`\\x2c` for a comma inside one) (IGNORABLE_404_URLS).");
    ERROR_REPORT_INTERVAL = S::plain("KEEL_ERROR_REPORT_INTERVAL", Some("10m"), "At most one report mail per kind of error (or per broken link) in this period; the next one says how many were suppressed.");
    LOG_LEVEL = S::plain("KEEL_LOG_LEVEL", Some("info"), "Log filter: a level (`info`) or directives (`info,keel=debug`) (LOGGING). When no source sets it, `RUST_LOG` is used if set.");
    LOG_FORMAT = S::plain("KEEL_LOG_FORMAT", Some("text"), "Log format: `text` or `json`.").prod(Some("json"));
    LOG_FILE = S::plain("KEEL_LOG_FILE", None, "Also append logs to this file.");
    SENTRY_DSN = S::plain("KEEL_SENTRY_DSN", None, "Error monitoring DSN.").url_secret();
    SIGNUP_OPEN = S::plain("KEEL_SIGNUP_OPEN", Some("true"), "Whether anyone may sign up.").prod(Some("false"));
    TRUSTED_PROXIES = S::plain("KEEL_TRUSTED_PROXIES", Some(""), "Addresses or CIDRs whose `X-Forwarded-For` names the client; from anyone else it is ignored.");
    METRICS_BIND = S::plain("KEEL_METRICS_BIND", Some("127.0.0.1:9100"), "Separate listener for `/metrics`, never the public one; empty disables it.");
    LOGIN_RATE = S::plain("KEEL_LOGIN_RATE", Some("10/15m"), "Failed logins allowed per account and per client address, `N/period`.");
    SIGNUP_RATE = S::plain("KEEL_SIGNUP_RATE", Some("20/1h"), "Sign-ups allowed per client address, `N/period`; over it, refused before any password hashing.");
    WEBHOOK_ALLOW_PRIVATE = S::plain("KEEL_WEBHOOK_ALLOW_PRIVATE", Some("false"), "Allow webhook URLs that resolve to loopback, private or link-local addresses (off: the SSRF guard refuses them).");
    OUTBOX_MAX_ATTEMPTS = S::plain("KEEL_OUTBOX_MAX_ATTEMPTS", Some("8"), "Delivery attempts of an email or webhook before it is dead-lettered.");
    SHUTDOWN_TIMEOUT = S::plain("KEEL_SHUTDOWN_TIMEOUT", Some("30"), "Seconds `serve` waits for in-flight requests after SIGTERM before it exits.");
    REQUEST_TIMEOUT = S::plain("KEEL_REQUEST_TIMEOUT", Some("30"), "Seconds a request may take before it is answered 503 (uploads: KEEL_UPLOAD_TIMEOUT).");
    UPLOAD_TIMEOUT = S::plain("KEEL_UPLOAD_TIMEOUT", Some("300"), "Seconds a request with a multipart body (file uploads) may take before it is answered 503.");
    BODY_READ_TIMEOUT = S::plain("KEEL_BODY_READ_TIMEOUT", Some("20"), "Seconds a client may take to send a request body that is not an upload before it is answered 408.");
    HEADER_READ_TIMEOUT = S::plain("KEEL_HEADER_READ_TIMEOUT", Some("10"), "Seconds a client may take to send a request's headers, counted from its first byte (or from connecting); then the connection is closed.");
    KEEPALIVE_TIMEOUT = S::plain("KEEL_KEEPALIVE_TIMEOUT", Some("75"), "Seconds an idle keep-alive connection is kept open between requests (keep it above the proxy's upstream keep-alive timeout).");
    MAX_HEADER_BYTES = S::plain("KEEL_MAX_HEADER_BYTES", Some("64KiB"), "The largest request head (request line and headers); a larger one is answered 431.");
    MAX_CONNECTIONS = S::plain("KEEL_MAX_CONNECTIONS", Some("auto"), "Open connections per instance; one more is answered 503 and closed at once. `auto`: three quarters of the file-descriptor limit.");
    MAX_CONCURRENT_REQUESTS = S::plain("KEEL_MAX_CONCURRENT_REQUESTS", Some("1024"), "Requests handled at once per instance; above it a request is answered 503 with Retry-After at once (load shedding). Health checks are never shed.");
}

/// Settings whose default follows from `KEEL_PUBLIC_URL` (see
/// `defaults::derive_from_public_url`); `KEEL_ALLOWED_HOSTS` does too, but
/// only when the public URL is set explicitly.
pub const DERIVED_FROM_PUBLIC_URL: &[&SettingSpec] = &[
    CSRF_TRUSTED_ORIGINS,
    SESSION_COOKIE_SECURE,
    CSRF_COOKIE_SECURE,
    SECURE_SSL_REDIRECT,
    SECURE_HSTS_SECONDS,
    SECURE_HSTS_INCLUDE_SUBDOMAINS,
];

/// The settings a site knows: the core's, then each app's, in order.
#[derive(Debug, Clone)]
pub struct Catalog(Vec<&'static SettingSpec>);

impl Catalog {
    /// The core's settings followed by `apps`'; a name declared twice is
    /// refused, naming it.
    pub fn new(apps: &[&'static [&'static SettingSpec]]) -> Result<Self, String> {
        let mut all: Vec<&'static SettingSpec> = CORE.to_vec();
        for spec in apps.iter().flat_map(|specs| specs.iter()) {
            if all.iter().any(|known| known.name == spec.name) {
                return Err(format!("{} is declared twice", spec.name));
            }
            all.push(spec);
        }
        Ok(Self(all))
    }

    /// Every setting, in the order `settings show` prints them.
    pub fn iter(&self) -> impl Iterator<Item = &'static SettingSpec> + '_ {
        self.0.iter().copied()
    }

    /// The entry named `name`.
    pub fn find(&self, name: &str) -> Option<&'static SettingSpec> {
        self.iter().find(|spec| spec.name == name)
    }

    /// The settings reference as a Markdown table, for the README (a test
    /// keeps the README's copy equal to this).
    pub fn reference_markdown(&self) -> String {
        let mut out = String::from(
            "| variable | dev / test default | prod default | secret | meaning |\n|---|---|---|---|---|\n",
        );
        for spec in self.iter() {
            let show = |value: Option<&str>| match value {
                None => "unset".to_owned(),
                Some("") => "empty".to_owned(),
                Some(v) => format!("`{v}`"),
            };
            let derived = DERIVED_FROM_PUBLIC_URL.iter().any(|d| d.name == spec.name);
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
}
