//! Every check Keel knows, in one file, so ids are stable and unique.
//! Ids are `keel.<area>.<E|W|I><nnn>`; the letter matches the level. Never
//! reuse an id for a different meaning.

use super::Level;

/// A declared check.
#[derive(Debug)]
pub struct Check {
    pub id: &'static str,
    pub level: Level,
    /// Only run by `check --deploy` (and before `serve` in prod).
    pub deploy: bool,
    pub hint: &'static str,
}

pub static DB_UNREACHABLE: Check = Check {
    id: "keel.db.E001",
    level: Level::Error,
    deploy: false,
    hint: "Check DATABASE_URL and that the database server is running and reachable from here.",
};

pub static DB_UNAPPLIED_MIGRATIONS: Check = Check {
    id: "keel.db.E002",
    level: Level::Error,
    deploy: false,
    hint: "Run `keel migrate` (in dev, `keel serve` migrates by itself).",
};

pub static DB_MIGRATIONS_INVALID: Check = Check {
    id: "keel.db.E003",
    level: Level::Error,
    deploy: false,
    hint: "The database's migration history does not match this build of Keel; restore a matching version.",
};

pub static SETTINGS_UNKNOWN_VARIABLE: Check = Check {
    id: "keel.settings.W001",
    level: Level::Warning,
    deploy: false,
    hint: "A KEEL_ variable that is not a setting is likely a typo; `keel settings show --all` lists the real names.",
};

/// All checks, for `keel check --list` and the uniqueness test.
pub static ALL: &[&Check] = &[
    &DB_UNREACHABLE,
    &DB_UNAPPLIED_MIGRATIONS,
    &DB_MIGRATIONS_INVALID,
    &SETTINGS_UNKNOWN_VARIABLE,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_ids_are_unique_well_formed_and_match_their_level() {
        let mut seen = std::collections::HashSet::new();
        for check in ALL {
            assert!(seen.insert(check.id), "duplicate id {}", check.id);
            let parts: Vec<&str> = check.id.split('.').collect();
            assert_eq!(parts.len(), 3, "{} is keel.<area>.<code>", check.id);
            assert_eq!(parts[0], "keel");
            let letter = match check.level {
                Level::Error => 'E',
                Level::Warning => 'W',
                Level::Info => 'I',
            };
            assert!(parts[2].starts_with(letter), "{} letter matches level", check.id);
            assert_eq!(parts[2].len(), 4, "{} has three digits", check.id);
        }
    }
}
