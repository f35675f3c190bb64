//! Reading the five sources into one map of raw strings, each with where it
//! came from.
//!
//! Precedence, lowest first: built-in defaults < `keel.toml` `[default]` <
//! `keel.toml` `[<profile>]` < `.env` < environment. A secret may be given as
//! `NAME_FILE=/path` in the environment, `.env` or `keel.toml`; the file's
//! contents, trimmed, are the value. Typed parsing happens after this, in
//! `parse`, so every error can name the variable and the source.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use super::catalog::{Catalog, SettingSpec};
use super::error::SettingsError;
use super::profile::Profile;
use super::value::{Raw, Source};

/// What the loader reads: the process environment and the working folder.
/// Tests build one by hand; `Settings::load` builds it from the process.
#[derive(Debug, Clone, Default)]
pub struct LoadInput {
    pub env: HashMap<String, String>,
    pub cwd: PathBuf,
}

/// One layer: a source and the values it sets, by catalog name.
struct Layer {
    source: Source,
    values: HashMap<String, String>,
}

/// The resolved raw map, plus names that were set but are not settings.
pub(super) struct Resolved {
    pub profile: Profile,
    pub values: BTreeMap<&'static str, Raw>,
    pub unknown: Vec<String>,
}

pub(super) fn resolve(input: &LoadInput, catalog: &Catalog) -> Result<Resolved, SettingsError> {
    let toml_path = config_path(input);
    let toml = read_toml(&input.cwd, &toml_path)?;
    let dotenv_path = input.cwd.join(".env");
    let dotenv = read_dotenv(&dotenv_path)?;
    let env = Layer {
        source: Source::Environment,
        values: input.env.clone(),
    };

    let profile = resolve_profile(&env, &dotenv, toml.as_ref())?;
    let mut layers = Vec::new();
    if let Some(toml) = &toml {
        layers.push(toml_layer(&toml_path, toml, None, catalog)?);
        layers.push(toml_layer(&toml_path, toml, Some(profile), catalog)?);
    }
    layers.extend(dotenv);
    layers.push(env);

    let mut unknown = Vec::new();
    let mut values = BTreeMap::new();
    for spec in catalog.iter() {
        if let Some(default) = spec.default_for(profile) {
            values.insert(
                spec.name,
                Raw {
                    value: default.to_owned(),
                    source: Source::Default(profile),
                },
            );
        }
    }
    for layer in &layers {
        for (name, value) in &layer.values {
            apply(layer, name, value, &input.cwd, catalog, &mut values, &mut unknown)?;
        }
    }
    rust_log(input, profile, &mut values);
    unknown.sort();
    unknown.dedup();
    Ok(Resolved {
        profile,
        values,
        unknown,
    })
}

/// `RUST_LOG`, the Rust ecosystem's log filter, stands in for
/// `KEEL_LOG_LEVEL` when no source sets that: `KEEL_LOG_LEVEL` wins over
/// `RUST_LOG`, which wins over the built-in default.
fn rust_log(input: &LoadInput, profile: Profile, values: &mut BTreeMap<&'static str, Raw>) {
    let name = super::catalog::LOG_LEVEL.name;
    let defaulted = values
        .get(name)
        .is_none_or(|raw| raw.source == Source::Default(profile));
    let Some(filter) = input.env.get("RUST_LOG").filter(|f| defaulted && !f.trim().is_empty()) else {
        return;
    };
    let raw = Raw {
        value: filter.clone(),
        source: Source::Derived("RUST_LOG"),
    };
    values.insert(name, raw);
}

/// Sets one value from a layer into the map, following `NAME_FILE`.
fn apply(
    layer: &Layer,
    name: &str,
    value: &str,
    cwd: &Path,
    catalog: &Catalog,
    values: &mut BTreeMap<&'static str, Raw>,
    unknown: &mut Vec<String>,
) -> Result<(), SettingsError> {
    if let Some(spec) = catalog.find(name) {
        let file_name = format!("{name}_FILE");
        if layer.values.contains_key(&file_name) && spec.accepts_file() {
            return Err(SettingsError::invalid(
                name,
                &layer.source,
                format!("both {name} and {file_name} are set; set one"),
            ));
        }
        values.insert(
            spec.name,
            Raw {
                value: value.to_owned(),
                source: layer.source.clone(),
            },
        );
        return Ok(());
    }
    if let Some(spec) = name.strip_suffix("_FILE").and_then(|base| catalog.find(base)) {
        if !spec.accepts_file() {
            return Err(SettingsError::invalid(
                name,
                &layer.source,
                format!("{} is not a secret and cannot be read from a file", spec.name),
            ));
        }
        let path = cwd.join(value);
        let contents = std::fs::read_to_string(&path).map_err(|err| {
            SettingsError::invalid(
                name,
                &layer.source,
                format!("cannot read {}: {}", path.display(), io_reason(&err)),
            )
        })?;
        values.insert(
            spec.name,
            Raw {
                value: contents.trim().to_owned(),
                source: Source::File {
                    path,
                    via: Box::new(layer.source.clone()),
                },
            },
        );
        return Ok(());
    }
    // Only names that look like ours are worth a warning: the process
    // environment is full of other programs' variables.
    if name.starts_with("KEEL_") && !is_harness_variable(name) {
        unknown.push(name.to_owned());
    }
    Ok(())
}

/// Variables that are Keel's but not settings of the server: the test
/// harness's and the ones commands read for themselves.
fn is_harness_variable(name: &str) -> bool {
    name.starts_with("KEEL_TEST_") || matches!(name, "KEEL_CONFIG" | "KEEL_SUPERUSER_PASSWORD")
}

fn io_reason(err: &std::io::Error) -> String {
    match err.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => err.to_string(),
    }
}

fn resolve_profile(env: &Layer, dotenv: &Option<Layer>, toml: Option<&toml::Table>) -> Result<Profile, SettingsError> {
    if let Some(value) = env.values.get("KEEL_ENV") {
        return Profile::parse(value).map_err(|msg| SettingsError::invalid("KEEL_ENV", &env.source, msg));
    }
    if let Some(layer) = dotenv {
        if let Some(value) = layer.values.get("KEEL_ENV") {
            return Profile::parse(value).map_err(|msg| SettingsError::invalid("KEEL_ENV", &layer.source, msg));
        }
    }
    if let Some(value) = toml
        .and_then(|t| t.get("default"))
        .and_then(|d| d.get("env"))
        .and_then(|v| v.as_str())
    {
        return Profile::parse(value)
            .map_err(|msg| SettingsError::invalid("KEEL_ENV", &Source::TomlDefault("keel.toml".into()), msg));
    }
    Ok(Profile::Dev)
}

fn config_path(input: &LoadInput) -> PathBuf {
    match input.env.get("KEEL_CONFIG") {
        Some(path) => input.cwd.join(path),
        None => input.cwd.join("keel.toml"),
    }
}

fn read_toml(cwd: &Path, path: &Path) -> Result<Option<toml::Table>, SettingsError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        // A missing keel.toml is normal; a missing KEEL_CONFIG file is not.
        Err(err) if err.kind() == std::io::ErrorKind::NotFound && path == cwd.join("keel.toml") => return Ok(None),
        Err(err) => {
            return Err(SettingsError::File {
                path: path.to_owned(),
                reason: io_reason(&err),
            })
        }
    };
    let table: toml::Table = text.parse().map_err(|err: toml::de::Error| SettingsError::File {
        path: path.to_owned(),
        reason: err.message().to_owned(),
    })?;
    for (section, value) in &table {
        if section != "default" && Profile::parse(section).is_err() {
            return Err(SettingsError::File {
                path: path.to_owned(),
                reason: format!("unknown section [{section}]; use [default], [dev], [prod] or [test]"),
            });
        }
        if !value.is_table() {
            return Err(SettingsError::File {
                path: path.to_owned(),
                reason: format!("`{section}` must be a section ([{section}])"),
            });
        }
    }
    Ok(Some(table))
}

fn toml_layer(
    path: &Path,
    table: &toml::Table,
    profile: Option<Profile>,
    catalog: &Catalog,
) -> Result<Layer, SettingsError> {
    let (section_name, source) = match profile {
        None => ("default".to_owned(), Source::TomlDefault(path.to_owned())),
        Some(p) => (p.to_string(), Source::TomlProfile(path.to_owned(), p)),
    };
    let mut values = HashMap::new();
    let Some(section) = table.get(&section_name).and_then(|s| s.as_table()) else {
        return Ok(Layer { source, values });
    };
    for (key, value) in section {
        let name = toml_key_to_name(key, catalog).ok_or_else(|| SettingsError::File {
            path: path.to_owned(),
            reason: format!("[{section_name}] {key}: unknown setting"),
        })?;
        let text = toml_value_to_string(value).ok_or_else(|| SettingsError::File {
            path: path.to_owned(),
            reason: format!("[{section_name}] {key}: expected a string, number, boolean or list of strings"),
        })?;
        values.insert(name, text);
    }
    Ok(Layer { source, values })
}

/// `debug` → `KEEL_DEBUG`, `database_url` → `DATABASE_URL`,
/// `secret_key_file` → `KEEL_SECRET_KEY_FILE`.
fn toml_key_to_name(key: &str, catalog: &Catalog) -> Option<String> {
    let (base, file) = match key.strip_suffix("_file") {
        Some(base) => (base, "_FILE"),
        None => (key, ""),
    };
    let spec: &SettingSpec = catalog.iter().find(|spec| spec.toml_key() == base)?;
    if !file.is_empty() && !spec.accepts_file() {
        return None;
    }
    Some(format!("{}{file}", spec.name))
}

fn toml_value_to_string(value: &toml::Value) -> Option<String> {
    match value {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        toml::Value::Array(items) => {
            let parts: Option<Vec<String>> = items.iter().map(|item| item.as_str().map(str::to_owned)).collect();
            Some(parts?.join(","))
        }
        _ => None,
    }
}

fn read_dotenv(path: &Path) -> Result<Option<Layer>, SettingsError> {
    let iter = match dotenvy::from_path_iter(path) {
        Ok(iter) => iter,
        Err(dotenvy::Error::Io(err)) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => {
            return Err(SettingsError::File {
                path: path.to_owned(),
                reason: err.to_string(),
            })
        }
    };
    let mut values = HashMap::new();
    for item in iter {
        let (key, value) = item.map_err(|err| SettingsError::File {
            path: path.to_owned(),
            reason: err.to_string(),
        })?;
        values.insert(key, value);
    }
    Ok(Some(Layer {
        source: Source::DotEnv(path.to_owned()),
        values,
    }))
}
