//! [`Site`]: what a binary serves. The binary (not an app) owns the list of
//! apps and the title its API document gives; `serve`, the commands and
//! the test harness all take it, so each runs the same apps.

use crate::app::App;
use crate::settings::{Catalog, SectionDecl, Settings, SettingsError};

use super::LaunchError;

/// A binary's apps and the name of its API.
pub struct Site {
    /// The API document's title.
    pub title: &'static str,
    /// The first paragraph of the API document's description.
    pub summary: &'static str,
    pub apps: Vec<Box<dyn App>>,
}

impl Site {
    /// A site with no apps yet.
    pub fn new(title: &'static str, summary: &'static str) -> Self {
        Self {
            title,
            summary,
            apps: Vec::new(),
        }
    }

    /// The same site serving `app` too.
    #[must_use]
    pub fn with(mut self, app: impl App) -> Self {
        self.apps.push(Box::new(app));
        self
    }

    /// Every app's settings sections, app order.
    pub fn sections(&self) -> Vec<SectionDecl> {
        self.apps.iter().flat_map(|app| app.settings()).collect()
    }

    /// The settings of this site (the core's and its apps'), from the
    /// process environment and the working folder.
    pub fn load_settings(&self) -> Result<Settings, SettingsError> {
        Settings::load(&self.sections())
    }

    /// The test profile's settings for this site, working in `dir`.
    pub fn test_settings(&self, dir: &std::path::Path) -> Settings {
        Settings::for_test_with(dir, &self.sections())
    }

    /// Every setting this site knows, for the README's reference.
    pub fn catalog(&self) -> Result<Catalog, String> {
        let specs: Vec<_> = self.sections().iter().map(|s| s.specs).collect();
        Catalog::new(&specs)
    }

    /// Settings loaded without an app's section would leave the app
    /// without its values: refused before anything is built.
    pub(super) fn check_sections(&self, settings: &Settings) -> Result<(), LaunchError> {
        for app in &self.apps {
            let declared = app.settings();
            let missing = declared
                .iter()
                .flat_map(|decl| decl.specs.iter())
                .any(|spec| settings.catalog().find(spec.name).is_none());
            if missing {
                return Err(LaunchError::SectionMissing { app: app.name() });
            }
        }
        Ok(())
    }
}

impl std::fmt::Debug for Site {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.apps.iter().map(|app| app.name()).collect();
        f.debug_struct("Site")
            .field("title", &self.title)
            .field("apps", &names)
            .finish()
    }
}
