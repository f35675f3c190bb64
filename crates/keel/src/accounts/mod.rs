//! Accounts: users, signup, login, logout, `me`, and the commands that
//! manage users (`createsuperuser`, `changepassword`). Django's auth lives
//! in the core too, so every app on Keel shares one notion of a user.

mod email;
pub mod http;
mod login;
pub mod users;

pub use email::EmailAddress;
pub use http::CurrentUser;
pub use users::{AccountError, User};
