//! `--self-signed`: a certificate and key for the site's host names, for
//! local use (seed 001 makes one by hand with openssl). Browsers warn on
//! it; a real site gets one from certbot (see the README).

use super::File;

/// `tls/fullchain.pem` and `tls/privkey.pem` for `hosts`.
pub(super) fn self_signed(hosts: &[String]) -> Result<Vec<File>, String> {
    let names: Vec<String> = hosts
        .iter()
        .map(|h| {
            h.trim_start_matches('.')
                .trim_matches(|c| c == '[' || c == ']')
                .to_owned()
        })
        .collect();
    let certified = rcgen::generate_simple_self_signed(names).map_err(|e| e.to_string())?;
    Ok(vec![
        File::new("tls/fullchain.pem", certified.cert.pem()),
        File {
            path: "tls/privkey.pem",
            contents: certified.key_pair.serialize_pem(),
            private: true,
        },
    ])
}
