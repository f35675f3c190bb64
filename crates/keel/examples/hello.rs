//! A whole app on the Keel core, in one file: one route, one setting, one
//! migration and one check. It is served the way `keel serve` serves the
//! forms app: settings loaded for its [`Site`], [`Keel::build`] (migrations,
//! the whole middleware stack, the API document), then the same server loop.
//!
//! ```text
//! cargo run -p keel --example hello
//! curl 'http://localhost:8000/api/hello?name=Ada'   # {"greeting":"Hello, Ada!","visits":1}
//! KEEL_GREETING=Bonjour cargo run -p keel --example hello
//! ```

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use keel::checks::{Check, Finding, Level};
use keel::db::{DbError, Migration};
use keel::http::extract::ApiQuery;
use keel::settings::catalog::SettingSpec as S;
use keel::settings::{Profile, Reader, Section, SectionDecl, SettingsError};
use keel::{App, Core, FieldError, Keel, Problem, Site};
use serde::{Deserialize, Serialize};

keel::settings_catalog! {
    /// The hello app's settings.
    pub static HELLO_SETTINGS;
    GREETING = S::plain("KEEL_GREETING", Some("Hello"), "What the hello example app says before a name.");
}

/// The app's settings section, read by the core's loader.
#[derive(Debug, Clone)]
pub struct HelloSettings {
    pub greeting: String,
}

impl Section for HelloSettings {
    const SPECS: &'static [&'static S] = HELLO_SETTINGS;

    fn read(r: &Reader<'_>) -> Result<Self, SettingsError> {
        let greeting = r.get(GREETING, |s| match s.trim() {
            g if (1..=40).contains(&g.chars().count()) => Ok(g.to_owned()),
            _ => Err("must be 1 to 40 characters".to_owned()),
        })?;
        Ok(Self { greeting })
    }
}

/// The app's one check: a site in production says something of its own.
pub static GREETING_DEFAULT: Check = Check {
    id: "hello.greeting.W001",
    title: "The greeting was chosen, not left at its default.",
    level: Level::Warning,
    deploy: true,
    hint: "Set KEEL_GREETING to what this site should say.",
};

static CHECKS: &[&Check] = &[&GREETING_DEFAULT];

/// The app's one migration (versions 2000 and up; the core has those below
/// 1000, the forms app 1000 to 1999).
static MIGRATIONS: &[Migration] = &[Migration {
    version: 2000,
    name: "2000_hello_visits",
    sqlite: "CREATE TABLE hello_visits (name TEXT PRIMARY KEY, visits BIGINT NOT NULL);",
    postgres: "CREATE TABLE hello_visits (name TEXT PRIMARY KEY, visits BIGINT NOT NULL);",
}];

/// The hello app.
#[derive(Debug, Clone, Copy)]
pub struct HelloApp;

impl App for HelloApp {
    fn name(&self) -> &'static str {
        "hello"
    }

    fn routes(&self, core: &Core) -> Router {
        Router::new().route("/api/hello", get(hello)).with_state(core.clone())
    }

    fn migrations(&self) -> &'static [Migration] {
        MIGRATIONS
    }

    fn settings(&self) -> Vec<SectionDecl> {
        vec![SectionDecl::of::<HelloSettings>()]
    }

    fn check_list(&self) -> &'static [&'static Check] {
        CHECKS
    }

    fn checks(&self, core: &Core) -> Vec<Finding> {
        let default = GREETING.default.unwrap_or_default();
        match core.settings.section::<HelloSettings>() {
            Some(s) if core.settings.profile == Profile::Prod && s.greeting == default => {
                vec![Finding::new(
                    &GREETING_DEFAULT,
                    format!("the greeting is still {default:?}"),
                )]
            }
            _ => Vec::new(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Who {
    name: String,
}

#[derive(Serialize)]
struct Greeting {
    greeting: String,
    visits: i64,
}

/// `GET /api/hello?name=Ada`: a greeting and how often that name came.
async fn hello(State(core): State<Core>, ApiQuery(who): ApiQuery<Who>) -> Result<Json<Greeting>, Problem> {
    let name = who.name.trim();
    if !(1..=40).contains(&name.chars().count()) {
        return Err(Problem::invalid(vec![FieldError::new(
            "name",
            "Give 1 to 40 characters.",
        )]));
    }
    let greeting = core
        .settings
        .section::<HelloSettings>()
        .map_or("Hello", |s| &s.greeting);
    let visits = count_visit(&core, name).await?;
    Ok(Json(Greeting {
        greeting: format!("{greeting}, {name}!"),
        visits,
    }))
}

async fn count_visit(core: &Core, name: &str) -> Result<i64, DbError> {
    const UPSERT: &str = "INSERT INTO hello_visits (name, visits) VALUES ($1, 1) \
        ON CONFLICT (name) DO UPDATE SET visits = hello_visits.visits + 1 RETURNING visits";
    let visits = keel::on_pool!(&core.db, pool => sqlx::query_scalar(UPSERT).bind(name).fetch_one(pool).await?);
    Ok(visits)
}

/// The site this example serves.
pub fn site() -> Site {
    Site::new("Hello", "A whole Keel app in one file.").with(HelloApp)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let site = site();
    let settings = site.load_settings()?;
    let _log = keel::telemetry::init(&settings.log)?;
    let bind = settings.bind;
    let keel = Keel::build(settings, &site).await?;
    let listener = tokio::net::TcpListener::bind(bind).await?;
    tracing::info!(address = %listener.local_addr()?, "hello listening");
    keel.serve(listener, keel::server::termination_signal()).await?;
    Ok(())
}
