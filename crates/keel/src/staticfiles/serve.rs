//! The `/static/` service, mounted by the middleware stack after host
//! validation and the https redirect, and outside sessions and CSRF: a
//! static file needs neither, and skipping them keeps these requests cheap.
//!
//! In `prod` every file of the manifest is read once, here, at start; a
//! request is a map lookup and reference-counted clones, never a file
//! system call. A file the manifest lists that cannot be read is logged and
//! left out (`check --deploy` names it); without a manifest nothing is
//! served.

use std::collections::HashMap;
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use axum::Router;
use bytes::Bytes;
use http::{header, HeaderValue, Method};

use super::asset::{Asset, IMMUTABLE, REVALIDATE, SHORT};
use super::manifest::{self, ManifestEntry, MANIFEST_NAME};
use super::path::{request_path, valid_logical};
use super::{media, sources, StaticError};
use crate::http::observe::RouteName;
use crate::http::Problem;
use crate::settings::{Profile, Settings};

/// Where `/static/` answers from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServeMode {
    /// The files of the static root's manifest, from memory.
    Collected,
    /// The sources, read per request.
    Sources,
}

impl ServeMode {
    /// `prod`: collected; `dev`: sources; `test`: collected when the
    /// static root has a manifest, else sources.
    pub fn for_settings(settings: &Settings) -> Self {
        match settings.profile {
            Profile::Prod => Self::Collected,
            Profile::Dev => Self::Sources,
            Profile::Test if settings.files.static_root.join(MANIFEST_NAME).is_file() => Self::Collected,
            Profile::Test => Self::Sources,
        }
    }
}

enum Files {
    Collected(HashMap<Box<str>, Asset>),
    Sources(Arc<[PathBuf]>),
}

/// `site` with the static files nested at `KEEL_STATIC_URL`. An absolute
/// static URL (a CDN) or `/` mounts nothing.
pub fn mount(site: Router, settings: &Settings) -> Router {
    let prefix = settings.files.static_url.trim_end_matches('/');
    if !prefix.starts_with('/') {
        return site;
    }
    let files = Arc::new(match ServeMode::for_settings(settings) {
        ServeMode::Collected => Files::Collected(load_collected(&settings.files.static_root)),
        ServeMode::Sources => Files::Sources(settings.files.staticfiles_dirs.clone().into()),
    });
    let route: Arc<str> = format!("{prefix}/{{*path}}").into();
    let service = tower::service_fn(move |request: Request| {
        let (files, route) = (files.clone(), route.clone());
        async move {
            let mut response = answer(&files, request).await;
            response.extensions_mut().insert(RouteName(route.to_string()));
            Ok::<_, Infallible>(response)
        }
    });
    site.nest_service(prefix, service)
}

async fn answer(files: &Files, request: Request) -> Response {
    let head = request.method() == Method::HEAD;
    if !head && request.method() != Method::GET {
        let mut response = Problem::method_not_allowed().into_response();
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    let Some(logical) = request_path(request.uri().path()) else {
        return Problem::not_found().into_response();
    };
    match files {
        Files::Collected(assets) => match assets.get(&*logical) {
            Some(asset) => super::respond::respond(asset, head, request.headers()),
            None => Problem::not_found().into_response(),
        },
        Files::Sources(dirs) => match source_asset(dirs.clone(), logical.into_owned()).await {
            Some(asset) => super::respond::respond(&asset, head, request.headers()),
            None => Problem::not_found().into_response(),
        },
    }
}

/// The source of `logical` as an asset, read off the runtime's threads.
async fn source_asset(dirs: Arc<[PathBuf]>, logical: String) -> Option<Asset> {
    let found = tokio::task::spawn_blocking(move || sources::find(&dirs, &logical).map(|f| (f, logical)))
        .await
        .ok()??;
    let (found, logical) = found;
    let body = match found.bytes {
        std::borrow::Cow::Borrowed(bytes) => Bytes::from_static(bytes),
        std::borrow::Cow::Owned(bytes) => Bytes::from(bytes),
    };
    Some(Asset::new(
        body,
        media::content_type(&logical),
        REVALIDATE,
        found.modified,
    ))
}

/// Every file the manifest of `root` lists, under its hashed name
/// (immutable) and its own name (short-lived).
fn load_collected(root: &Path) -> HashMap<Box<str>, Asset> {
    let mut assets = HashMap::new();
    let manifest = match manifest::read(root) {
        Ok(Some(manifest)) => manifest,
        Ok(None) => {
            tracing::warn!(static.root = %root.display(), "no static files to serve: run `keel collectstatic`");
            return assets;
        }
        Err(err) => {
            tracing::warn!(error = %err, "no static files to serve");
            return assets;
        }
    };
    let Ok(real_root) = std::fs::canonicalize(root) else {
        return assets;
    };
    for (path, entry) in &manifest.files {
        if !valid_logical(path) || !valid_logical(&entry.hashed) {
            tracing::warn!(static.path = %path, "skipping a manifest entry with an invalid name");
            continue;
        }
        match load_entry(&real_root, path, entry) {
            Ok(asset) => {
                assets.insert(path.as_str().into(), asset.with_cache_control(SHORT));
                assets.insert(entry.hashed.as_str().into(), asset);
            }
            Err(err) => tracing::warn!(error = %err, static.path = %path, "skipping a collected file"),
        }
    }
    tracing::info!(static.files = manifest.files.len(), "static files loaded");
    assets
}

fn load_entry(root: &Path, path: &str, entry: &ManifestEntry) -> Result<Asset, StaticError> {
    let (body, modified) = read_inside(root, &entry.hashed)?;
    let sibling = |wanted: bool, ext: &str| -> Result<Option<Bytes>, StaticError> {
        match wanted {
            true => Ok(Some(read_inside(root, &format!("{}.{ext}", entry.hashed))?.0)),
            false => Ok(None),
        }
    };
    let (gzip, br) = (sibling(entry.gzip, "gz")?, sibling(entry.br, "br")?);
    Ok(Asset::new(body, media::content_type(path), IMMUTABLE, modified).with_variants(gzip, br))
}

/// Reads `root/name`, refusing a file whose real path is outside `root`.
fn read_inside(root: &Path, name: &str) -> Result<(Bytes, Option<std::time::SystemTime>), StaticError> {
    let path = root.join(name);
    let fail = |source| StaticError::Read {
        path: path.clone(),
        source,
    };
    let real = std::fs::canonicalize(&path).map_err(fail)?;
    if !real.starts_with(root) {
        return Err(fail(std::io::Error::other("it points outside the static root")));
    }
    let meta = std::fs::metadata(&real).map_err(fail)?;
    let bytes = std::fs::read(&real).map_err(fail)?;
    Ok((Bytes::from(bytes), meta.modified().ok()))
}
