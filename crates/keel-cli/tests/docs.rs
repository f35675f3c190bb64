//! The docs stay in step with the code: the README's settings reference is
//! the catalog's, the live probes are all listed, and CI runs the README's
//! test command.

use std::path::PathBuf;

fn repo_file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").join(name)
}

const START: &str = "<!-- settings-reference:start -->\n";
const END: &str = "<!-- settings-reference:end -->";

#[test]
fn readme_settings_reference_matches_the_catalog() {
    let path = repo_file("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let start = readme.find(START).expect("README has the reference start marker") + START.len();
    let end = readme.find(END).expect("README has the reference end marker");
    let expected = keel_cli::site()
        .catalog()
        .expect("the catalog is consistent")
        .reference_markdown();
    if readme[start..end] != expected {
        if std::env::var_os("KEEL_BLESS").is_some() {
            let updated = format!("{}{expected}{}", &readme[..start], &readme[end..]);
            std::fs::write(&path, updated).unwrap();
            return;
        }
        panic!("README.md's settings reference differs from the catalog; run KEEL_BLESS=1 cargo test -p keel-cli --test docs");
    }
}

#[test]
fn ci_runs_the_readme_test_command() {
    let readme = std::fs::read_to_string(repo_file("README.md")).unwrap();
    let first_block = readme
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .unwrap();
    let test_line = first_block.lines().nth(1).expect("the second command runs the tests");
    let command = test_line.split('#').next().unwrap().trim();
    let ci = std::fs::read_to_string(repo_file(".ci/run")).unwrap();
    assert!(
        ci.lines().any(|l| l.trim() == command),
        ".ci/run must run the README's test command {command:?}"
    );
    assert!(ci.contains("KEEL_TEST_REQUIRE_SERVICES=1"));
}

#[test]
fn readme_lists_every_live_probe_with_its_level() {
    let readme = std::fs::read_to_string(repo_file("README.md")).unwrap();
    let live = keel::checks::registry::ALL.iter().filter(|c| c.is_live());
    for check in live {
        let row = format!("| `{}` | {} |", check.id, check.level.as_str());
        assert!(readme.contains(&row), "README's live probes list {}: {row}", check.id);
    }
}
