//! The routes the server has, read from the source: every
//! `.route("…", …)` of the core and the forms app, outside test modules.
//! `/static/` (a nested service) and `/metrics` (its own listener) are not
//! API routes and are not read.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The routes in the source: `(METHOD, path)` of every `.route("…", …)`
/// in the core and the forms app, test modules left out.
pub(crate) fn source_routes() -> BTreeSet<(String, String)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for crate_dir in ["keel/src", "keel-forms/src"] {
        rust_files(&root.join(crate_dir), &mut files);
    }
    let mut routes = BTreeSet::new();
    for file in files {
        // `/metrics` is served on its own listener, never the public one
        // the document describes (tests/metrics.rs covers it).
        if file.ends_with("launch/metrics.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("a source file");
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        for (at, _) in code.match_indices(".route(") {
            let args = call_arguments(&code[at + ".route".len()..]);
            let path = args
                .trim_start()
                .strip_prefix('"')
                .and_then(|rest| rest.split('"').next())
                .unwrap_or_else(|| {
                    panic!(
                        "{}: a route path is a literal, so this test can read it",
                        file.display()
                    )
                });
            let methods = routing_methods(&args);
            assert!(!methods.is_empty(), "{}: {path} has a method", file.display());
            routes.extend(methods.into_iter().map(|m| (m, path.to_owned())));
        }
    }
    routes
}

pub(crate) fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a source folder") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The text inside the parentheses that `text` starts with.
pub(crate) fn call_arguments(text: &str) -> String {
    let mut depth = 0;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return text[1..i].to_owned();
                }
            }
            _ => {}
        }
    }
    panic!("unbalanced parentheses in a route");
}

/// `get(a).post(b)` → GET, POST.
pub(crate) fn routing_methods(args: &str) -> Vec<String> {
    let bytes = args.as_bytes();
    let mut methods = Vec::new();
    for method in ["get", "post", "put", "patch", "delete"] {
        for (at, _) in args.match_indices(&format!("{method}(")) {
            let before = at.checked_sub(1).map(|i| bytes[i]);
            if before.is_none_or(|b| !(b.is_ascii_alphanumeric() || b == b'_')) {
                methods.push(method.to_ascii_uppercase());
            }
        }
    }
    methods
}

/// A concrete path for a template: `{name}` → its value.
pub(crate) fn fill(template: &str, values: &[(&str, &str)]) -> String {
    values.iter().fold(template.to_owned(), |path, (name, value)| {
        path.replace(&format!("{{{name}}}"), value)
    })
}
