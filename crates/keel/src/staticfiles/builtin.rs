//! The built-in static files, embedded in the binary so `keel` works from any
//! folder. They live in `crates/keel/static/`; a test keeps this table and
//! that folder in step.

/// One embedded file: its logical path (`/`-separated) and its bytes.
#[derive(Debug, Clone, Copy)]
pub struct BuiltinFile {
    pub path: &'static str,
    pub bytes: &'static [u8],
}

macro_rules! builtin {
    ($($path:literal),+ $(,)?) => {
        &[$(BuiltinFile { path: $path, bytes: include_bytes!(concat!("../../static/", $path)) }),+]
    };
}

/// Every built-in file, sorted by path.
pub static BUILTIN: &[BuiltinFile] = builtin!["keel/base.css", "keel/img/mark.svg", "keel/keel.css", "keel/keel.js",];

/// The built-in file at `path`, if any.
pub fn find(path: &str) -> Option<&'static BuiltinFile> {
    BUILTIN.iter().find(|file| file.path == path)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn walk(dir: &Path, prefix: &str, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().into_string().unwrap();
            let logical = format!("{prefix}{name}");
            if entry.file_type().unwrap().is_dir() {
                walk(&entry.path(), &format!("{logical}/"), out);
            } else {
                out.push(logical);
            }
        }
    }

    #[test]
    fn the_table_lists_every_file_of_the_static_folder_in_order() {
        let mut on_disk = Vec::new();
        walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("static"), "", &mut on_disk);
        on_disk.sort();
        let listed: Vec<&str> = BUILTIN.iter().map(|f| f.path).collect();
        assert_eq!(
            listed, on_disk,
            "add new files in crates/keel/static to BUILTIN, sorted"
        );
    }
}
