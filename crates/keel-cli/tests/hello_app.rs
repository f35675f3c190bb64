//! The second app: `crates/keel/examples/hello.rs`, a whole app on the core
//! in one file, served through the same `Keel::build` as `keel serve`,
//! with its setting, migration and check; and the seams it relies on
//! (sections loaded, migration versions distinct).

#[allow(dead_code, unreachable_pub)]
#[path = "../../keel/examples/hello.rs"]
mod hello;

use hello::HelloSettings;
use keel::settings::LoadInput;
use keel::{Keel, Settings, Site};
use keel_testkit::{on_both_backends, Backend, TestServer};
use serde_json::Value;

on_both_backends!(the_hello_app_greets_counts_and_refuses_bad_names);

async fn the_hello_app_greets_counts_and_refuses_bad_names(backend: Backend) {
    let server = TestServer::spawn(hello::site(), backend).await;
    let first: Value = server.get("/api/hello?name=Ada").await.json().await.unwrap();
    assert_eq!(first["greeting"], "Hello, Ada!");
    assert_eq!(first["visits"], 1);
    let second: Value = server.get("/api/hello?name=Ada").await.json().await.unwrap();
    assert_eq!(second["visits"], 2, "its migration's table keeps count");

    let long = "x".repeat(41);
    for (query, status) in [
        ("", 400),
        ("?name=", 422),
        (&format!("?name={long}")[..], 422),
        ("?name=a&x=1", 400),
    ] {
        let response = server.get(&format!("/api/hello{query}")).await;
        assert_eq!(response.status(), status, "{query}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json",
            "errors are problems"
        );
    }
    // The core's routes and stack are there too, and the document is the site's.
    assert_eq!(server.get("/healthz").await.status(), 200);
    assert_eq!(server.get("/api/forms").await.status(), 404, "no forms app here");
    let doc: Value = server.get("/api/openapi.json").await.json().await.unwrap();
    assert_eq!(doc["info"]["title"], "Hello");
}

#[tokio::test]
async fn the_hello_setting_flows_through_the_loader_and_its_check_runs_in_prod() {
    let dir = tempfile::tempdir().unwrap();
    let site = hello::site();
    let load = |pairs: &[(&str, &str)]| {
        let env = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Settings::load_from(
            &LoadInput {
                env,
                cwd: dir.path().to_owned(),
            },
            &site.sections(),
        )
    };
    let settings = load(&[("KEEL_GREETING", "Bonjour")]).unwrap();
    assert_eq!(settings.section::<HelloSettings>().unwrap().greeting, "Bonjour");
    let shown = settings.shown().iter().find(|s| s.name == "KEEL_GREETING").unwrap();
    assert_eq!(shown.value.as_deref(), Some("Bonjour"));
    assert!(!shown.is_default);
    assert!(settings.unknown_variables.is_empty(), "an app's setting is not unknown");

    let err = load(&[("KEEL_GREETING", " ")]).unwrap_err().to_string();
    assert!(err.starts_with("KEEL_GREETING (from environment)"), "{err}");

    let server = TestServer::spawn_with(hello::site(), Backend::Sqlite, |s| {
        s.profile = keel::settings::Profile::Prod;
    })
    .await;
    let findings = keel::launch::run_checks(&server.core, &site.apps, true).await;
    assert!(findings.iter().any(|f| f.id == "hello.greeting.W001"), "{findings:?}");
    let findings = keel::launch::run_checks(&server.core, &site.apps, false).await;
    assert!(
        !findings.iter().any(|f| f.id == "hello.greeting.W001"),
        "a deploy check"
    );
}

#[tokio::test]
async fn a_build_refuses_settings_without_an_apps_section_and_shared_migration_versions() {
    let dir = tempfile::tempdir().unwrap();
    let err = Keel::build(Settings::for_test(dir.path()), &hello::site())
        .await
        .err()
        .expect("settings without the hello section are refused");
    assert!(err.to_string().contains("hello"), "{err}");

    let twice = Site::new("Twice", "One app twice.")
        .with(hello::HelloApp)
        .with(hello::HelloApp);
    let input = LoadInput {
        env: Default::default(),
        cwd: dir.path().to_owned(),
    };
    let err = Settings::load_from(&input, &twice.sections()).unwrap_err();
    assert!(err.to_string().contains("KEEL_GREETING is declared twice"), "{err}");

    let clash = Site::new("Clash", "Two apps, one migration version.")
        .with(hello::HelloApp)
        .with(Clash);
    let err = Keel::build(clash.test_settings(dir.path()), &clash)
        .await
        .err()
        .expect("a migration version declared twice is refused");
    assert_eq!(
        err.to_string(),
        "migration version 2000 is declared twice (2000_hello_visits and 2000_clash); every app needs versions of its own"
    );
}

/// An app whose migration takes the hello app's version.
struct Clash;

impl keel::App for Clash {
    fn name(&self) -> &'static str {
        "clash"
    }

    fn routes(&self, _core: &keel::Core) -> axum::Router {
        axum::Router::new()
    }

    fn migrations(&self) -> &'static [keel::db::Migration] {
        &[keel::db::Migration {
            version: 2000,
            name: "2000_clash",
            sqlite: "SELECT 1;",
            postgres: "SELECT 1;",
        }]
    }
}
