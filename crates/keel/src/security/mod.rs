//! Security: secret keys now; hosts, headers, CORS, CSRF, sessions and
//! passwords join here.

pub mod secret;
