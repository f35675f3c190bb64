//! Defaults that follow from other values: those `KEEL_PUBLIC_URL` implies,
//! and the development secret key kept in `var/secret_key`.

use std::collections::BTreeMap;
use std::path::Path;

use super::catalog as c;
use super::error::SettingsError;
use super::parse;
use super::profile::Profile;
use super::reader::Reader;
use super::secret::generate_key;
use super::value::{Raw, Source};

/// Fills in the defaults that follow from `KEEL_PUBLIC_URL`, where no
/// source set them.
pub(super) fn derive_from_public_url(
    values: &mut BTreeMap<&'static str, Raw>,
    profile: Profile,
) -> Result<url::Url, SettingsError> {
    let reader = Reader::new(values);
    let public = reader.get(c::PUBLIC_URL, |s| {
        let url = parse::url(s, &["http", "https"])?;
        if url.host_str().is_none() {
            return Err("needs a host name".to_owned());
        }
        Ok(url)
    })?;
    let explicit = values
        .get(c::PUBLIC_URL.name)
        .is_some_and(|raw| raw.source != Source::Default(profile));
    let https = public.scheme() == "https";
    let host = public.host_str().unwrap_or_default().to_owned();
    let origin = public.origin().ascii_serialization();
    let prod_https = https && profile == Profile::Prod;
    let mut derived: Vec<(&'static str, String)> = vec![
        (c::CSRF_TRUSTED_ORIGINS.name, origin),
        (c::SESSION_COOKIE_SECURE.name, https.to_string()),
        (c::CSRF_COOKIE_SECURE.name, https.to_string()),
        (c::SECURE_SSL_REDIRECT.name, prod_https.to_string()),
        (
            c::SECURE_HSTS_SECONDS.name,
            if prod_https { "31536000" } else { "0" }.to_owned(),
        ),
        (c::SECURE_HSTS_INCLUDE_SUBDOMAINS.name, "false".to_owned()),
    ];
    if explicit {
        derived.push((c::ALLOWED_HOSTS.name, host));
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
                    source: Source::Derived(c::PUBLIC_URL.name),
                },
            );
        }
    }
    Ok(public)
}

/// In `dev` and `test`, a missing secret key is generated once and kept in
/// `var/secret_key`, so sessions survive restarts. `prod` never does this.
pub(super) fn ensure_dev_secret_key(
    values: &mut BTreeMap<&'static str, Raw>,
    profile: Profile,
    cwd: &Path,
) -> Result<(), SettingsError> {
    if profile == Profile::Prod || values.contains_key(c::SECRET_KEY.name) {
        return Ok(());
    }
    let path = cwd.join("var").join("secret_key");
    let file_error = |reason: String| SettingsError::File {
        path: path.clone(),
        reason,
    };
    let generate = || -> Result<String, SettingsError> {
        let key = generate_key();
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
        c::SECRET_KEY.name,
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
