//! One module per command: its clap `Args` and its `run`.

pub(crate) mod backup;
pub(crate) mod check;
pub(crate) mod collectstatic;
pub(crate) mod deploy;
pub(crate) mod migrate;
pub(crate) mod secret;
pub(crate) mod sendtestemail;
pub(crate) mod serve;
pub(crate) mod settings;
pub(crate) mod users;
