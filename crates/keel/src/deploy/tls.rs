//! `--self-signed`: a certificate and key for the site's host names, for
//! local use (seed 001 makes one by hand with openssl). Browsers warn on
//! it; a real site gets one from certbot (see the README).

use chrono::Datelike;

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
    let mut params = rcgen::CertificateParams::new(names).map_err(|e| e.to_string())?;
    // Valid from yesterday for 90 days, as a Let's Encrypt certificate is,
    // rather than rcgen's centuries.
    let day = |offset: i64| {
        let date = (chrono::Utc::now() + chrono::Duration::days(offset)).date_naive();
        rcgen::date_time_ymd(date.year(), date.month() as u8, date.day() as u8)
    };
    params.not_before = day(-1);
    params.not_after = day(90);
    let key = rcgen::KeyPair::generate().map_err(|e| e.to_string())?;
    let cert = params.self_signed(&key).map_err(|e| e.to_string())?;
    Ok(vec![
        File::new("tls/fullchain.pem", cert.pem()),
        File {
            path: "tls/privkey.pem".to_owned(),
            contents: key.serialize_pem(),
            private: true,
        },
    ])
}
