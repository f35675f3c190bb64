//! `.env.example`: every setting the site knows (the core's and its apps'),
//! each with its documentation line and its `prod` value; secrets blank.
//! The few values the rendered proxy relies on are filled in.

use std::fmt::Write;

use super::plan::Plan;
use crate::settings::catalog::{self, Sensitivity, SettingSpec};
use crate::settings::Profile;

/// Values the rendered topology needs, whatever their defaults.
fn for_this_deployment(plan: &Plan, spec: &SettingSpec) -> Option<String> {
    let value = match spec.name {
        n if n == catalog::ENV.name => "prod".to_owned(),
        n if n == catalog::PUBLIC_URL.name => plan.public_url.as_str().trim_end_matches('/').to_owned(),
        // nginx is the one proxy, on this machine.
        n if n == catalog::TRUSTED_PROXIES.name => {
            let mut proxies = vec!["127.0.0.1".to_owned(), "::1".to_owned()];
            proxies.extend(plan.outer_proxies.iter().cloned());
            proxies.join(",")
        }
        n if n == catalog::SECURE_PROXY_SSL_HEADER.name => "X-Forwarded-Proto: https".to_owned(),
        // The names nginx answers to, and only those.
        n if n == catalog::ALLOWED_HOSTS.name => plan.hosts.join(","),
        n if n == catalog::MEDIA_ACCEL_REDIRECT.name => plan.media_accel.clone()?,
        _ => return None,
    };
    Some(value)
}

/// The file.
pub(super) fn example(plan: &Plan) -> String {
    let mut out = format!(
        "# Settings of {}, rendered by `keel deploy render`: every setting, with
# its prod value. Copy to /etc/keel/keel.env (mode 600, owner root), fill in
# the secrets (`keel secret generate` makes KEEL_SECRET_KEY) and the
# DATABASE_URL, KEEL_CACHE_URL and KEEL_EMAIL_URL passwords. A secret may
# instead be read from a file: NAME_FILE=/path.
",
        plan.public_url
    );
    for spec in plan.catalog.iter() {
        let _ = write!(out, "\n# {}\n", spec.doc);
        if let Some(value) = for_this_deployment(plan, spec) {
            let _ = writeln!(out, "{}={value}", spec.name);
            continue;
        }
        if catalog::DERIVED_FROM_PUBLIC_URL.iter().any(|d| d.name == spec.name) {
            let _ = writeln!(out, "# {}= (follows from KEEL_PUBLIC_URL)", spec.name);
            continue;
        }
        match (spec.sensitivity, spec.default_for(Profile::Prod)) {
            (Sensitivity::Secret | Sensitivity::UrlWithPassword, _) => {
                let _ = writeln!(out, "{}=", spec.name);
            }
            (_, Some(value)) => {
                let _ = writeln!(out, "{}={value}", spec.name);
            }
            (_, None) => {
                let _ = writeln!(out, "# {}=", spec.name);
            }
        }
    }
    out
}
