//! What collecting a source set produces: for each file its final bytes
//! (stylesheets rewritten) and its hashed name.
//!
//! A stylesheet's hash must cover the hashed names it references, so files
//! are resolved depth-first: a stylesheet's references first, then the
//! stylesheet. A cycle of `@import`s leaves the reference that closes it
//! unrewritten, with a warning.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::manifest::{hashed_name, sha256_hex};
use super::media;
use super::sources::SourceSet;

/// One file as it will be written.
#[derive(Debug)]
pub(crate) struct Planned {
    pub(crate) path: String,
    pub(crate) hashed: String,
    pub(crate) sha256: String,
    pub(crate) bytes: Vec<u8>,
    pub(crate) content_type: &'static str,
}

/// Every file of `set`, sorted by path, and the warnings about references.
pub(crate) fn plan(set: &SourceSet, static_url: &str) -> (Vec<Planned>, Vec<String>) {
    let sources: BTreeMap<&str, &[u8]> = set.files.values().map(|f| (f.path.as_str(), &*f.bytes)).collect();
    let mut planner = Planner {
        sources: &sources,
        static_prefix: static_url.starts_with('/').then_some(static_url),
        done: HashMap::new(),
        visiting: HashSet::new(),
        warnings: Vec::new(),
    };
    for path in sources.keys() {
        planner.resolve(path);
    }
    let mut planned: Vec<Planned> = planner.done.into_values().collect();
    planned.sort_by(|a, b| a.path.cmp(&b.path));
    (planned, planner.warnings)
}

struct Planner<'a> {
    sources: &'a BTreeMap<&'a str, &'a [u8]>,
    static_prefix: Option<&'a str>,
    done: HashMap<String, Planned>,
    visiting: HashSet<String>,
    warnings: Vec<String>,
}

impl<'a> Planner<'a> {
    /// The hashed name of `path`, planning it first if needed.
    fn resolve(&mut self, path: &str) -> Option<String> {
        if let Some(done) = self.done.get(path) {
            return Some(done.hashed.clone());
        }
        let bytes = *self.sources.get(path)?;
        let content_type = media::content_type(path);
        let bytes = match std::str::from_utf8(bytes) {
            Ok(text) if media::is_css(path) => {
                if !self.visiting.insert(path.to_owned()) {
                    self.warnings.push(format!(
                        "{path}: part of an @import cycle; a reference to it is left as is"
                    ));
                    return None;
                }
                let rewritten = self.rewrite_css(path, text);
                self.visiting.remove(path);
                rewritten.into_bytes()
            }
            _ => bytes.to_vec(),
        };
        let sha256 = sha256_hex(&bytes);
        let hashed = hashed_name(path, &sha256);
        let planned = Planned {
            path: path.to_owned(),
            hashed: hashed.clone(),
            sha256,
            bytes,
            content_type,
        };
        self.done.insert(path.to_owned(), planned);
        Some(hashed)
    }

    fn rewrite_css(&mut self, path: &str, text: &str) -> String {
        let prefix = self.static_prefix;
        let (rewritten, unknown) = super::css::rewrite(text, path, prefix, &mut |target| self.resolve(target));
        // References to files that exist but closed a cycle were warned about.
        let exists = |url: &str| {
            super::css::target(path, url, prefix).is_some_and(|(logical, _)| self.sources.contains_key(&*logical))
        };
        for url in unknown.iter().filter(|url| !exists(url)) {
            self.warnings.push(format!(
                "{path}: the reference {url:?} names no static file; left as is"
            ));
        }
        rewritten
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;
    use crate::staticfiles::sources::{Origin, SourceFile};

    fn set(files: &[(&str, &str)]) -> SourceSet {
        let mut set = SourceSet::default();
        for (path, text) in files {
            let file = SourceFile {
                path: (*path).to_owned(),
                origin: Origin::Builtin,
                bytes: Cow::Owned(text.as_bytes().to_vec()),
            };
            set.files.insert((*path).to_owned(), file);
        }
        set
    }

    #[test]
    fn a_stylesheet_hash_follows_the_files_it_references() {
        let before = plan(&set(&[("a.css", "@import 'b.css';"), ("b.css", "x{}")]), "/static/").0;
        let after = plan(&set(&[("a.css", "@import 'b.css';"), ("b.css", "y{}")]), "/static/").0;
        assert_ne!(before[0].hashed, after[0].hashed, "a.css changes when b.css does");
        let text = String::from_utf8(before[0].bytes.clone()).unwrap();
        assert!(text.contains(before[1].hashed.as_str()), "{text}");
    }

    #[test]
    fn import_cycles_end_with_a_warning() {
        let (planned, warnings) = plan(
            &set(&[("a.css", "@import 'b.css';"), ("b.css", "@import 'a.css';")]),
            "/s/",
        );
        assert_eq!(planned.len(), 2);
        assert!(warnings.iter().any(|w| w.contains("cycle")), "{warnings:?}");
    }
}
