#![allow(dead_code, reason = "each test file uses a part of it")]

//! What the command-line tests share: `keel` run in a folder of its own
//! with a clean environment.

use std::path::Path;
use std::process::{Command, Output};

/// `keel` in `dir` with a clean environment (plus `PATH`), so the developer's
/// own variables cannot leak in.
pub(crate) fn keel(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_keel"));
    cmd.current_dir(dir)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        // Servers run side by side: none takes the metrics port unless a
        // test sets it.
        .env("KEEL_METRICS_BIND", "");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

pub(crate) fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    keel(dir, args, env).output().expect("keel runs")
}

pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
