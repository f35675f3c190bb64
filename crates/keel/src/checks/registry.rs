//! Every check Keel knows, in one file, so ids are stable and unique.
//! Ids are `keel.<area>.<E|W|I><nnn>`; the letter matches the level. Never
//! reuse an id for a different meaning.

use super::Level;

/// A declared check.
#[derive(Debug)]
pub struct Check {
    pub id: &'static str,
    pub level: Level,
    /// Only run by `check --deploy` (and before `serve` in prod).
    pub deploy: bool,
    pub hint: &'static str,
}

pub static DB_UNREACHABLE: Check = Check {
    id: "keel.db.E001",
    level: Level::Error,
    deploy: false,
    hint: "Check DATABASE_URL and that the database server is running and reachable from here.",
};

pub static DB_UNAPPLIED_MIGRATIONS: Check = Check {
    id: "keel.db.E002",
    level: Level::Error,
    deploy: false,
    hint: "Run `keel migrate` (in dev, `keel serve` migrates by itself).",
};

pub static DB_MIGRATIONS_INVALID: Check = Check {
    id: "keel.db.E003",
    level: Level::Error,
    deploy: false,
    hint: "The database's migration history does not match this build of Keel; restore a matching version.",
};

pub static SETTINGS_UNKNOWN_VARIABLE: Check = Check {
    id: "keel.settings.W001",
    level: Level::Warning,
    deploy: false,
    hint: "A KEEL_ variable that is not a setting is likely a typo; `keel settings show --all` lists the real names.",
};

// Deployment checks (`check --deploy`), numbered after Django's
// `security.W0nn` where one exists, so the mapping is obvious.

pub static HSTS_SECONDS: Check = Check {
    id: "keel.security.W004",
    level: Level::Warning,
    deploy: true,
    hint: "Set KEEL_SECURE_HSTS_SECONDS (a year is 31536000) once the whole site works over https; KEEL_PUBLIC_URL=https://… in prod sets it.",
};

pub static HSTS_SUBDOMAINS: Check = Check {
    id: "keel.security.W005",
    level: Level::Warning,
    deploy: true,
    hint: "Set KEEL_SECURE_HSTS_INCLUDE_SUBDOMAINS=true when every subdomain serves https.",
};

pub static SSL_REDIRECT: Check = Check {
    id: "keel.security.W008",
    level: Level::Warning,
    deploy: true,
    hint: "Set KEEL_SECURE_SSL_REDIRECT=true (or let KEEL_PUBLIC_URL=https://… set it), unless the proxy already redirects all http traffic.",
};

pub static SECRET_KEY_WEAK: Check = Check {
    id: "keel.security.E009",
    level: Level::Error,
    deploy: true,
    hint: "Set KEEL_SECRET_KEY (or KEEL_SECRET_KEY_FILE) to the output of `keel secret generate`: at least 50 characters, at least 5 distinct, not a development key.",
};

pub static SESSION_COOKIE_SECURE: Check = Check {
    id: "keel.security.W012",
    level: Level::Warning,
    deploy: true,
    hint: "Set KEEL_SESSION_COOKIE_SECURE=true so the session cookie is only sent over https.",
};

pub static CSRF_COOKIE_SECURE: Check = Check {
    id: "keel.security.W016",
    level: Level::Warning,
    deploy: true,
    hint: "Set KEEL_CSRF_COOKIE_SECURE=true so the CSRF cookie is only sent over https.",
};

pub static DEBUG_IN_PROD: Check = Check {
    id: "keel.security.E018",
    level: Level::Error,
    deploy: true,
    hint: "Set KEEL_DEBUG=false; detailed error pages leak source, settings and data.",
};

pub static ALLOWED_HOSTS_EMPTY: Check = Check {
    id: "keel.security.E020",
    level: Level::Error,
    deploy: true,
    hint: "Set KEEL_ALLOWED_HOSTS (or KEEL_PUBLIC_URL, which sets it) to the names this site answers to.",
};

pub static ALLOWED_HOSTS_WILDCARD: Check = Check {
    id: "keel.security.W020",
    level: Level::Warning,
    deploy: true,
    hint: "Replace \"*\" in KEEL_ALLOWED_HOSTS with the site's names, or make sure the proxy validates Host.",
};

pub static HSTS_PRELOAD: Check = Check {
    id: "keel.security.W021",
    level: Level::Warning,
    deploy: true,
    hint: "Set KEEL_SECURE_HSTS_PRELOAD=true to be eligible for browsers' HSTS preload lists (after reading what that commits you to).",
};

pub static SECRET_KEY_FALLBACK_WEAK: Check = Check {
    id: "keel.security.W025",
    level: Level::Warning,
    deploy: true,
    hint:
        "Every KEEL_SECRET_KEY_FALLBACKS entry should be a strong key; drop fallbacks once old sessions have expired.",
};

pub static PROXY_HEADER_MISSING: Check = Check {
    id: "keel.security.W030",
    level: Level::Warning,
    deploy: true,
    hint: "Behind a TLS-terminating proxy, set KEEL_SECURE_PROXY_SSL_HEADER (e.g. `X-Forwarded-Proto: https`, and have the proxy set it); otherwise every request looks like plain http and the SSL redirect loops.",
};

pub static PROXY_WITHOUT_TRUSTED_PROXIES: Check = Check {
    id: "keel.security.W031",
    level: Level::Warning,
    deploy: true,
    hint: "Set KEEL_TRUSTED_PROXIES to the proxy's addresses (e.g. 10.0.0.0/8 or 127.0.0.1/32) so X-Forwarded-For names each client; otherwise every client has the proxy's address and shares one login and submission rate limit.",
};

pub static CORS_WILDCARD_CREDENTIALS: Check = Check {
    id: "keel.security.E040",
    level: Level::Error,
    deploy: false,
    hint: "List the allowed origins in KEEL_CORS_ALLOWED_ORIGINS; any origin with credentials lets every site act as the user.",
};

pub static CORS_WILDCARD: Check = Check {
    id: "keel.security.W041",
    level: Level::Warning,
    deploy: true,
    hint: "KEEL_CORS_ALLOWED_ORIGINS=* lets any site read API responses; list the frontend's origins instead.",
};

pub static PUBLIC_URL_CONTRADICTED: Check = Check {
    id: "keel.security.W050",
    level: Level::Warning,
    deploy: false,
    hint: "An explicit setting disagrees with KEEL_PUBLIC_URL; unset it to take the value that follows from the public URL, or fix the public URL.",
};

pub static PUBLIC_URL_UNSET: Check = Check {
    id: "keel.security.W051",
    level: Level::Warning,
    deploy: true,
    hint: "Set KEEL_PUBLIC_URL to the site's https address; allowed hosts, CSRF origins, cookies, redirect and HSTS follow from it.",
};

pub static SECRET_IN_CONFIG_FILE: Check = Check {
    id: "keel.settings.W002",
    level: Level::Warning,
    deploy: true,
    hint: "Move secrets out of keel.toml into the environment, .env (not committed) or NAME_FILE=/run/secrets/…; keel.toml is meant to be committed.",
};

pub static CSRF_EXEMPTIONS: Check = Check {
    id: "keel.security.I060",
    level: Level::Info,
    deploy: false,
    hint: "These routes skip the CSRF token check by design and are protected otherwise; review them when they change.",
};

pub static SQLITE_IN_PROD: Check = Check {
    id: "keel.db.W101",
    level: Level::Warning,
    deploy: true,
    hint: "Set DATABASE_URL=postgres://…; SQLite serializes writes and cannot be shared by several instances.",
};

pub static MEMORY_CACHE_IN_PROD: Check = Check {
    id: "keel.cache.W101",
    level: Level::Warning,
    deploy: true,
    hint: "Set KEEL_CACHE_URL=redis://…; the memory cache is per process, so instances disagree about cached values and rate limits.",
};

pub static CONSOLE_EMAIL_IN_PROD: Check = Check {
    id: "keel.email.W101",
    level: Level::Warning,
    deploy: true,
    hint: "Set KEEL_EMAIL_URL=smtp://…; the console backend only prints mail to the log.",
};

pub static DEFAULT_SENDER: Check = Check {
    id: "keel.email.W102",
    level: Level::Warning,
    deploy: true,
    hint: "Set KEEL_DEFAULT_FROM_EMAIL and KEEL_SERVER_EMAIL to addresses of your domain; many providers reject mail from @localhost.",
};

pub static NO_ADMINS: Check = Check {
    id: "keel.email.W103",
    level: Level::Warning,
    deploy: true,
    hint: "Set KEEL_ADMINS (`Name <addr>, …`) so someone hears about server errors.",
};

pub static STATIC_MANIFEST: Check = Check {
    id: "keel.static.E001",
    level: Level::Error,
    deploy: true,
    hint: "Run `keel collectstatic --no-input` in every release, after the code and settings are in place and before `keel serve`.",
};

pub static EMAIL_UNUSABLE: Check = Check {
    id: "keel.email.E001",
    level: Level::Error,
    deploy: false,
    hint: "Fix KEEL_EMAIL_URL (smtp://user:pass@host:587?tls=starttls|opportunistic|none, smtps://…, console://, file://dir) and KEEL_DEFAULT_FROM_EMAIL; `keel sendtestemail ADDR` tries them.",
};

pub static WEBHOOK_PRIVATE_IN_PROD: Check = Check {
    id: "keel.outbox.W101",
    level: Level::Warning,
    deploy: true,
    hint: "Unset KEEL_WEBHOOK_ALLOW_PRIVATE in production: with it, any form owner can make the server call internal services and the cloud metadata address (SSRF).",
};

/// All checks, for `keel check --list` and the uniqueness test.
pub static ALL: &[&Check] = &[
    &DB_UNREACHABLE,
    &DB_UNAPPLIED_MIGRATIONS,
    &DB_MIGRATIONS_INVALID,
    &SETTINGS_UNKNOWN_VARIABLE,
    &HSTS_SECONDS,
    &HSTS_SUBDOMAINS,
    &SSL_REDIRECT,
    &SECRET_KEY_WEAK,
    &SESSION_COOKIE_SECURE,
    &CSRF_COOKIE_SECURE,
    &DEBUG_IN_PROD,
    &ALLOWED_HOSTS_EMPTY,
    &ALLOWED_HOSTS_WILDCARD,
    &HSTS_PRELOAD,
    &SECRET_KEY_FALLBACK_WEAK,
    &PROXY_HEADER_MISSING,
    &CORS_WILDCARD_CREDENTIALS,
    &CORS_WILDCARD,
    &PUBLIC_URL_CONTRADICTED,
    &PUBLIC_URL_UNSET,
    &SECRET_IN_CONFIG_FILE,
    &CSRF_EXEMPTIONS,
    &SQLITE_IN_PROD,
    &MEMORY_CACHE_IN_PROD,
    &CONSOLE_EMAIL_IN_PROD,
    &DEFAULT_SENDER,
    &NO_ADMINS,
    &EMAIL_UNUSABLE,
    &WEBHOOK_PRIVATE_IN_PROD,
    &STATIC_MANIFEST,
];

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
        }
    }
}
