//! Security: the Django deployment checklist as layers and services.
//!
//! Layers (in request order, see `launch::stack`): [`hosts`] (400 on a bad
//! Host), [`https`] (301 to https), [`cors`], [`csrf`]; [`headers`] wraps
//! them all. Services: [`signing`] with key rotation, [`sessions`] in the
//! database with the cache in front, [`passwords`], [`throttle`] for rate
//! limits, [`client_ip`] behind trusted proxies, [`addresses`] (which are
//! public).

pub mod addresses;
pub mod client_ip;
pub mod cookies;
pub mod cors;
pub mod csrf;
pub mod csrf_token;
pub mod hash_gate;
pub mod headers;
pub mod hosts;
pub mod https;
pub mod passwords;
pub mod policy;
pub mod sessions;
pub mod signing;
pub mod throttle;

pub use policy::Policy;
