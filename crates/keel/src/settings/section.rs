//! Settings an app declares: its own typed section, read by the same loader
//! as the core's (same sources, provenance, `settings show`, README
//! reference), and kept in [`Settings`](super::Settings) by type.

use std::any::{Any, TypeId};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use super::catalog::SettingSpec;
use super::error::SettingsError;
use super::reader::Reader;

/// An app's typed settings section.
pub trait Section: Any + Clone + fmt::Debug + Send + Sync {
    /// The section's settings, declared with [`settings_catalog!`](crate::settings_catalog).
    const SPECS: &'static [&'static SettingSpec];

    /// Reads and validates the section; errors name the variable.
    fn read(r: &Reader<'_>) -> Result<Self, SettingsError>;
}

type Stored = Arc<dyn Any + Send + Sync>;

/// A section as the loader sees it: its settings and its reader.
#[derive(Clone, Copy)]
pub struct SectionDecl {
    pub specs: &'static [&'static SettingSpec],
    read: fn(&Reader<'_>) -> Result<(TypeId, Stored), SettingsError>,
}

impl SectionDecl {
    /// The declaration of section `T`.
    pub fn of<T: Section>() -> Self {
        Self {
            specs: T::SPECS,
            read: read_stored::<T>,
        }
    }
}

impl fmt::Debug for SectionDecl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.specs.iter().map(|s| s.name).collect();
        f.debug_struct("SectionDecl").field("specs", &names).finish()
    }
}

fn read_stored<T: Section>(r: &Reader<'_>) -> Result<(TypeId, Stored), SettingsError> {
    Ok((TypeId::of::<T>(), Arc::new(T::read(r)?)))
}

/// The apps' sections of one load, by type.
#[derive(Clone, Default)]
pub(super) struct Sections(BTreeMap<TypeId, Stored>);

impl Sections {
    pub(super) fn read(decls: &[SectionDecl], r: &Reader<'_>) -> Result<Self, SettingsError> {
        let mut map = BTreeMap::new();
        for decl in decls {
            let (id, value) = (decl.read)(r)?;
            map.insert(id, value);
        }
        Ok(Self(map))
    }

    pub(super) fn get<T: Section>(&self) -> Option<&T> {
        self.0.get(&TypeId::of::<T>())?.downcast_ref()
    }

    pub(super) fn set<T: Section>(&mut self, value: T) {
        self.0.insert(TypeId::of::<T>(), Arc::new(value));
    }
}

impl fmt::Debug for Sections {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sections({} app section(s))", self.0.len())
    }
}
