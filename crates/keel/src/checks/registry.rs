//! Every check Keel knows, in one file, so ids are stable and unique.
//! Ids are `keel.<area>.<E|W|I><nnn>`; the letter matches the level. Never
//! reuse an id for a different meaning.

use super::Level;

/// Declares the checks: one `static` each and [`ALL`], from one list, so a
/// check cannot be declared and left out of `keel check --list`.
macro_rules! checks {
    ($($(#[$meta:meta])* $name:ident = $check:expr;)+) => {
        $($(#[$meta])* pub static $name: Check = $check;)+

        /// All the core's checks, for `keel check --list` and the uniqueness test.
        pub static ALL: &[&Check] = &[$(&$name),+];
    };
}

/// A declared check. Checks in the `live` area (`keel.live.*`) are probes
/// that only `check --deploy --live` runs.
#[derive(Debug)]
pub struct Check {
    pub id: &'static str,
    /// What the check wants to be true, in one line (`keel check --list`).
    pub title: &'static str,
    pub level: Level,
    /// Only run by `check --deploy` (and before `serve` in prod).
    pub deploy: bool,
    pub hint: &'static str,
}

impl Check {
    /// A check every `keel check` runs.
    pub const fn always(id: &'static str, level: Level, title: &'static str, hint: &'static str) -> Self {
        Self {
            id,
            title,
            level,
            deploy: false,
            hint,
        }
    }

    /// A check only `keel check --deploy` (and `serve` in prod) runs.
    pub const fn deploy(id: &'static str, level: Level, title: &'static str, hint: &'static str) -> Self {
        Self {
            id,
            title,
            level,
            deploy: true,
            hint,
        }
    }

    /// Whether this is a probe of reality that only `check --deploy --live`
    /// runs (its id is in the `live` area).
    pub fn is_live(&self) -> bool {
        self.id.starts_with("keel.live.")
    }
}

checks! {
    DB_UNREACHABLE = Check::always("keel.db.E001", Level::Error, "The database answers.",
        "Check DATABASE_URL and that the database server is running and reachable from here.");

    DB_UNAPPLIED_MIGRATIONS = Check::always("keel.db.E002", Level::Error, "Every migration of the core and the apps is applied.",
        "Run `keel migrate` (in dev, `keel serve` migrates by itself).");

    DB_MIGRATIONS_INVALID = Check::always("keel.db.E003", Level::Error, "The database's migration history matches this build.",
        "The database's migration history does not match this build of Keel; restore a matching version.");

    SETTINGS_UNKNOWN_VARIABLE = Check::always("keel.settings.W001", Level::Warning, "No KEEL_ variable is set that is not a setting.",
        "A KEEL_ variable that is not a setting is likely a typo; `keel settings show --all` lists the real names.");

    // Deployment checks (`check --deploy`), numbered after Django's
    // `security.W0nn` where one exists, so the mapping is obvious.

    HSTS_SECONDS = Check::deploy("keel.security.W004", Level::Warning, "HSTS is on.",
        "Set KEEL_SECURE_HSTS_SECONDS (a year is 31536000) once the whole site works over https; KEEL_PUBLIC_URL=https://… in prod sets it.");

    HSTS_SUBDOMAINS = Check::deploy("keel.security.W005", Level::Warning, "HSTS covers subdomains.",
        "Set KEEL_SECURE_HSTS_INCLUDE_SUBDOMAINS=true when every subdomain serves https.");

    SSL_REDIRECT = Check::deploy("keel.security.W008", Level::Warning, "Plain http is redirected to https.",
        "Set KEEL_SECURE_SSL_REDIRECT=true (or let KEEL_PUBLIC_URL=https://… set it), unless the proxy already redirects all http traffic.");

    SECRET_KEY_WEAK = Check::deploy("keel.security.E009", Level::Error, "The secret key is set, long, varied and not a development key.",
        "Set KEEL_SECRET_KEY (or KEEL_SECRET_KEY_FILE) to the output of `keel secret generate`: at least 50 characters, at least 5 distinct, not a development key.");

    SESSION_COOKIE_SECURE = Check::deploy("keel.security.W012", Level::Warning, "The session cookie is sent over https only.",
        "Set KEEL_SESSION_COOKIE_SECURE=true so the session cookie is only sent over https.");

    CSRF_COOKIE_SECURE = Check::deploy("keel.security.W016", Level::Warning, "The CSRF cookie is sent over https only.",
        "Set KEEL_CSRF_COOKIE_SECURE=true so the CSRF cookie is only sent over https.");

    DEBUG_IN_PROD = Check::deploy("keel.security.E018", Level::Error, "KEEL_DEBUG is off in prod.",
        "Set KEEL_DEBUG=false; detailed error pages leak source, settings and data.");

    ALLOWED_HOSTS_EMPTY = Check::deploy("keel.security.E020", Level::Error, "KEEL_ALLOWED_HOSTS names at least one host.",
        "Set KEEL_ALLOWED_HOSTS (or KEEL_PUBLIC_URL, which sets it) to the names this site answers to.");

    ALLOWED_HOSTS_WILDCARD = Check::deploy("keel.security.W020", Level::Warning, "KEEL_ALLOWED_HOSTS is not `*`.",
        "Replace \"*\" in KEEL_ALLOWED_HOSTS with the site's names, or make sure the proxy validates Host.");

    HSTS_PRELOAD = Check::deploy("keel.security.W021", Level::Warning, "HSTS preload is asked for only with a long max-age and subdomains.",
        "Set KEEL_SECURE_HSTS_PRELOAD=true to be eligible for browsers' HSTS preload lists (after reading what that commits you to).");

    SECRET_KEY_FALLBACK_WEAK = Check::deploy("keel.security.W025", Level::Warning, "Every fallback key is strong.",
        "Every KEEL_SECRET_KEY_FALLBACKS entry should be a strong key; drop fallbacks once old sessions have expired.");

    PROXY_HEADER_MISSING = Check::deploy("keel.security.W030", Level::Warning, "Behind a proxy, the https header is configured.",
        "Behind a TLS-terminating proxy, set KEEL_SECURE_PROXY_SSL_HEADER (e.g. `X-Forwarded-Proto: https`, and have the proxy set it); otherwise every request looks like plain http and the SSL redirect loops.");

    PROXY_WITHOUT_TRUSTED_PROXIES = Check::deploy("keel.security.W031", Level::Warning, "The https header is trusted only from listed proxies.",
        "Set KEEL_TRUSTED_PROXIES to the proxy's addresses (e.g. 10.0.0.0/8 or 127.0.0.1/32) so X-Forwarded-For names each client; otherwise every client has the proxy's address and shares one login and submission rate limit.");

    CORS_WILDCARD_CREDENTIALS = Check::always("keel.security.E040", Level::Error, "CORS never allows any origin with credentials.",
        "List the allowed origins in KEEL_CORS_ALLOWED_ORIGINS; any origin with credentials lets every site act as the user.");

    CORS_WILDCARD = Check::deploy("keel.security.W041", Level::Warning, "CORS does not allow any origin.",
        "KEEL_CORS_ALLOWED_ORIGINS=* lets any site read API responses; list the frontend's origins instead.");

    PUBLIC_URL_CONTRADICTED = Check::always("keel.security.W050", Level::Warning, "Explicit settings agree with KEEL_PUBLIC_URL.",
        "An explicit setting disagrees with KEEL_PUBLIC_URL; unset it to take the value that follows from the public URL, or fix the public URL.");

    PUBLIC_URL_UNSET = Check::deploy("keel.security.W051", Level::Warning, "KEEL_PUBLIC_URL is set in prod.",
        "Set KEEL_PUBLIC_URL to the site's https address; allowed hosts, CSRF origins, cookies, redirect and HSTS follow from it.");

    SECRET_IN_CONFIG_FILE = Check::deploy("keel.settings.W002", Level::Warning, "No secret is written in keel.toml.",
        "Move secrets out of keel.toml into the environment, .env (not committed) or NAME_FILE=/run/secrets/…; keel.toml is meant to be committed.");

    CSRF_EXEMPTIONS = Check::always("keel.security.I060", Level::Info, "Lists the routes that skip the CSRF token check.",
        "These routes skip the CSRF token check by design and are protected otherwise; review them when they change.");

    SQLITE_IN_PROD = Check::deploy("keel.db.W101", Level::Warning, "prod runs on PostgreSQL, not SQLite.",
        "Set DATABASE_URL=postgres://…; SQLite serializes writes and cannot be shared by several instances.");

    MEMORY_CACHE_IN_PROD = Check::deploy("keel.cache.W101", Level::Warning, "prod shares a Redis cache between instances.",
        "Set KEEL_CACHE_URL=redis://…; the memory cache is per process, so instances disagree about cached values and rate limits.");

    CONSOLE_EMAIL_IN_PROD = Check::deploy("keel.email.W101", Level::Warning, "prod sends mail rather than printing it.",
        "Set KEEL_EMAIL_URL=smtp://…; the console backend only prints mail to the log.");

    DEFAULT_SENDER = Check::deploy("keel.email.W102", Level::Warning, "The senders are not the development defaults.",
        "Set KEEL_DEFAULT_FROM_EMAIL and KEEL_SERVER_EMAIL to addresses of your domain; many providers reject mail from @localhost.");

    NO_ADMINS = Check::deploy("keel.email.W103", Level::Warning, "Someone gets error reports (KEEL_ADMINS or KEEL_SENTRY_DSN).",
        "Set KEEL_ADMINS (`Name <addr>, …`): every server error is then mailed to them (each kind at most once per KEEL_ERROR_REPORT_INTERVAL), or set KEEL_SENTRY_DSN.");

    REPORTS_NOT_MAILED = Check::deploy("keel.email.W104", Level::Warning, "Error and broken-link reports go out by mail.",
        "KEEL_ADMINS or KEEL_MANAGERS is set but KEEL_EMAIL_URL is console:// or file://, which only print or store mail: set an smtp:// backend (or KEEL_SENTRY_DSN for errors).");

    SENTRY_DSN_SHAPE = Check::always("keel.log.E001", Level::Error, "KEEL_SENTRY_DSN is a Sentry DSN.",
        "Copy the DSN from the Sentry project (Settings → Client Keys): https://PUBLIC_KEY@HOST/PROJECT_ID, the key before the @ and the numeric project id last.");

    METRICS_PUBLIC = Check::deploy("keel.metrics.W001", Level::Warning, "/metrics listens on loopback or a private network only.",
        "Bind KEEL_METRICS_BIND to 127.0.0.1:9100, or to the private address Prometheus scrapes: metrics tell routes, traffic and internals to anyone, without authentication.");

    STATIC_MANIFEST = Check::deploy("keel.static.E001", Level::Error, "collectstatic has run: the manifest matches the static files.",
        "Run `keel collectstatic --no-input` in every release, after the code and settings are in place and before `keel serve`.");

    EMAIL_UNUSABLE = Check::always("keel.email.E001", Level::Error, "The email backend can be used (folder writable, URL valid).",
        "Fix KEEL_EMAIL_URL (smtp://user:pass@host:587?tls=starttls|opportunistic|none, smtps://…, console://, file://dir) and KEEL_DEFAULT_FROM_EMAIL; `keel sendtestemail ADDR` tries them.");

    WEBHOOK_PRIVATE_IN_PROD = Check::deploy("keel.outbox.W101", Level::Warning, "Webhooks to private addresses are refused in prod.",
        "Unset KEEL_WEBHOOK_ALLOW_PRIVATE in production: with it, any form owner can make the server call internal services and the cloud metadata address (SSRF).");

    // Live probes (`check --deploy --live`): the `live` area, each a probe
    // of a real server, disk or proxy rather than of the settings. The
    // database's reachability and migrations are `keel.db.E001`-`E003` and
    // the static files `keel.static.E001`, which `--live` runs too.

    DB_POOL_OVER_SERVER_LIMIT = Check::deploy("keel.live.W001", Level::Warning, "PostgreSQL has room for every instance's pool.",
        "Lower KEEL_DB_MAX_CONNECTIONS so that instances × pool stays under PostgreSQL's max_connections less its reserved connections (and what other clients need), raise max_connections, or put PgBouncer in front.");

    CACHE_UNREACHABLE = Check::deploy("keel.live.E010", Level::Error, "Redis answers PING at KEEL_CACHE_URL.",
        "Check KEEL_CACHE_URL (host, port, password, database) and that Redis is running and reachable from this machine.");

    MAIL_UNREACHABLE = Check::deploy("keel.live.E020", Level::Error, "The mail server accepts a connection and the credentials (no mail is sent); a file backend's folder is writable.",
        "Check KEEL_EMAIL_URL: host, port, TLS mode (?tls=starttls|opportunistic|none, or smtps://), user and password; or make the file backend's folder writable. `keel sendtestemail ADDR` sends a real message.");

    MEDIA_UNWRITABLE = Check::deploy("keel.live.E030", Level::Error, "Media storage takes a probe object, gives it back and deletes it.",
        "Check KEEL_MEDIA_STORAGE: a local folder must be writable by Keel's user; an S3 bucket must exist and the KEEL_S3_* credentials must allow PutObject, GetObject and DeleteObject.");

    DISK_NEARLY_FULL = Check::deploy("keel.live.E040", Level::Error, "At least 100 MiB are free where the database, media and log file are written.",
        "Free space or grow the filesystem now: with the disk full SQLite, uploads and the log file fail.");

    DISK_LOW = Check::deploy("keel.live.W040", Level::Warning, "At least 1 GiB and 5 % are free where the database, media and log file are written.",
        "Free space, rotate or ship the logs, move media to S3, or grow the filesystem before it fills.");

    SITE_UNREACHABLE = Check::deploy("keel.live.E050", Level::Error, "The site answers GET /api/csrf at KEEL_PUBLIC_URL, over a TLS certificate that verifies.",
        "Check DNS, the proxy and Keel behind it; the certificate must be valid, unexpired and name the host (for a private CA, pass it with `--ca-cert FILE`). A redirect answered on https is a loop: set KEEL_SECURE_PROXY_SSL_HEADER and have the proxy send it.");

    CERTIFICATE_EXPIRING = Check::deploy("keel.live.W051", Level::Warning, "The TLS certificate is valid for at least 21 more days.",
        "Renew the certificate (and check that automatic renewal, e.g. certbot's timer, runs and reloads the proxy).");

    PLAIN_HTTP_NOT_REDIRECTED = Check::deploy("keel.live.W052", Level::Warning, "Plain http to the public host is redirected to https.",
        "Have the proxy answer port 80 with a 301 to https://$host$request_uri (or set KEEL_SECURE_SSL_REDIRECT=true and pass plain http through); `--http-port` names another port.");

    HSTS_NOT_SENT = Check::deploy("keel.live.W053", Level::Warning, "https answers carry Strict-Transport-Security.",
        "Keel sends HSTS only on requests it knows are https: set KEEL_SECURE_HSTS_SECONDS and KEEL_SECURE_PROXY_SSL_HEADER, have the proxy send that header, and check that it does not strip Strict-Transport-Security.");

    SECURITY_HEADERS_MISSING = Check::deploy("keel.live.W054", Level::Warning, "Answers through the proxy carry Keel's security headers.",
        "Keel sets X-Content-Type-Options, X-Frame-Options, Referrer-Policy, Cross-Origin-Opener-Policy, Cross-Origin-Resource-Policy, Permissions-Policy and Content-Security-Policy on every answer; make the proxy pass them (nginx: no proxy_hide_header for them), or check that the URL reaches Keel.");

    COOKIE_FLAGS = Check::deploy("keel.live.W055", Level::Warning, "Cookies arrive through the proxy with the flags configured (Secure, HttpOnly).",
        "The csrftoken and sessionid cookies should carry Secure as KEEL_CSRF_COOKIE_SECURE and KEEL_SESSION_COOKIE_SECURE say, and sessionid HttpOnly; check that the proxy does not rewrite or drop Set-Cookie.");

    UNKNOWN_HOST_SERVED = Check::deploy("keel.live.W056", Level::Warning, "A request for an unknown Host is refused, not answered by the site.",
        "Give the proxy a default server that refuses unknown names (nginx: `return 444;`) and pass the Host header through unchanged (`proxy_set_header Host $host;`), so KEEL_ALLOWED_HOSTS is enforced.");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_ids_are_unique_well_formed_and_match_their_level() {
        let mut seen = std::collections::HashSet::new();
        for check in ALL {
            assert!(seen.insert(check.id), "duplicate id {}", check.id);
            let parts: Vec<&str> = check.id.split('.').collect();
            assert_eq!(parts.len(), 3, "{} is keel.<area>.<code>", check.id);
            assert_eq!(parts[0], "keel");
            let letter = match check.level {
                Level::Error => 'E',
                Level::Warning => 'W',
                Level::Info => 'I',
            };
            assert!(parts[2].starts_with(letter), "{} letter matches level", check.id);
            assert_eq!(parts[2].len(), 4, "{} has three digits", check.id);
            assert!(
                !check.is_live() || check.deploy,
                "{} is live, so only --deploy runs it",
                check.id
            );
        }
    }
}
