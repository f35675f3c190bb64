//! Reading request cookies and writing `Set-Cookie` headers with the
//! flags Keel always uses: `Path=/`, `SameSite=Lax`, `Secure` per settings,
//! `HttpOnly` where script has no business reading the value.

use cookie::{Cookie, SameSite};
use http::header::{HeaderMap, COOKIE};
use http::HeaderValue;

/// The value of cookie `name` in the request, if sent once or more (the
/// first wins, as browsers send the most specific path first).
pub fn get<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value.
pub fn set(name: &str, value: &str, max_age_secs: i64, secure: bool, http_only: bool) -> HeaderValue {
    let cookie = Cookie::build((name, value))
        .path("/")
        .same_site(SameSite::Lax)
        .secure(secure)
        .http_only(http_only)
        .max_age(cookie::time::Duration::seconds(max_age_secs))
        .build();
    HeaderValue::from_str(&cookie.encoded().to_string()).expect("cookie names and values Keel makes are header-safe")
}

/// A `Set-Cookie` value that deletes cookie `name`.
pub fn expire(name: &str, secure: bool, http_only: bool) -> HeaderValue {
    let value = set(name, "", 0, secure, http_only);
    let text = format!(
        "{}; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
        value.to_str().unwrap_or_default()
    );
    HeaderValue::from_str(&text).unwrap_or(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_across_headers_and_pairs() {
        let mut headers = HeaderMap::new();
        headers.append(COOKIE, HeaderValue::from_static("a=1; csrftoken=abc"));
        headers.append(COOKIE, HeaderValue::from_static("sessionid=xyz"));
        assert_eq!(get(&headers, "csrftoken"), Some("abc"));
        assert_eq!(get(&headers, "sessionid"), Some("xyz"));
        assert_eq!(get(&headers, "csrf"), None);
    }

    #[test]
    fn set_cookie_carries_the_flags() {
        let v = set("sessionid", "v", 60, true, true);
        let text = v.to_str().unwrap();
        for flag in ["Path=/", "SameSite=Lax", "Secure", "HttpOnly", "Max-Age=60"] {
            assert!(text.contains(flag), "{flag} in {text}");
        }
        let plain = set("csrftoken", "v", 60, false, false);
        assert!(!plain.to_str().unwrap().contains("Secure") && !plain.to_str().unwrap().contains("HttpOnly"));
        assert!(expire("sessionid", false, true).to_str().unwrap().contains("Max-Age=0"));
    }
}
