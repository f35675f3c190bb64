//! Parsers for setting values: each takes the raw string and says in plain
//! words what was expected. The caller adds the variable name and source.

use std::net::SocketAddr;
use std::time::Duration;

/// `true`/`false` and the usual spellings.
pub fn boolean(raw: &str) -> Result<bool, String> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(format!("expected true or false, got {raw:?}")),
    }
}

/// A whole number within `min..=max`.
pub fn integer(raw: &str, min: u64, max: u64) -> Result<u64, String> {
    let n: u64 = raw
        .trim()
        .parse()
        .map_err(|_| format!("expected a whole number, got {raw:?}"))?;
    if n < min || n > max {
        return Err(format!("expected a number from {min} to {max}, got {n}"));
    }
    Ok(n)
}

/// Seconds as a plain number, or a number with `s`, `m`, `h`, `d` or `w`.
pub fn duration(raw: &str) -> Result<Duration, String> {
    let text = raw.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("expected seconds or a duration like 15m, got {raw:?}"))?;
    let scale = match unit.trim() {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return Err(format!("expected seconds or a duration like 15m, got {raw:?}")),
    };
    n.checked_mul(scale)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("duration {raw:?} is too long"))
}

/// A size in bytes: `1048576`, `512KiB`, `10MiB`, `1GiB` (`K`, `M`, `G`,
/// `KB`, `MB`, `GB` are read as the binary units too).
pub fn byte_size(raw: &str) -> Result<u64, String> {
    let text = raw.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("expected a size such as 10MiB or a number of bytes, got {raw:?}"))?;
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => {
            return Err(format!(
                "expected a size such as 10MiB or a number of bytes, got {raw:?}"
            ))
        }
    };
    n.checked_mul(scale).ok_or_else(|| format!("size {raw:?} is too large"))
}

/// A comma-separated list; the empty string is the empty list.
pub fn list(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

/// An `ip:port` socket address.
pub fn socket_addr(raw: &str) -> Result<SocketAddr, String> {
    raw.trim()
        .parse()
        .map_err(|_| format!("expected an address such as 127.0.0.1:8000 or [::1]:8000, got {raw:?}"))
}

/// An absolute URL with one of the given schemes.
pub fn url(raw: &str, schemes: &[&str]) -> Result<url::Url, String> {
    let parsed = url::Url::parse(raw.trim()).map_err(|err| format!("not a valid URL ({err})"))?;
    if !schemes.contains(&parsed.scheme()) {
        return Err(format!(
            "unsupported scheme {:?}; expected one of: {}",
            parsed.scheme(),
            schemes.join(", ")
        ));
    }
    Ok(parsed)
}

/// The text of a URL with its password, if any, replaced by `********`.
pub fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut parsed) if parsed.password().is_some() => {
            // set_password only fails for URLs that cannot have one, and this
            // one has one.
            let _ = parsed.set_password(Some("********"));
            parsed.to_string()
        }
        Ok(_) => raw.to_owned(),
        Err(_) => "********".to_owned(),
    }
}

/// A rate such as `10/15m`: so many events per period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub count: u32,
    pub period: Duration,
}

impl Rate {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let expected = || format!("expected N/period such as 10/15m, got {raw:?}");
        let (count, period) = raw.trim().split_once('/').ok_or_else(expected)?;
        let count: u32 = count.trim().parse().map_err(|_| expected())?;
        let period = duration(period).map_err(|_| expected())?;
        if count == 0 || period.is_zero() {
            return Err(format!("rate {raw:?} must allow at least 1 per non-zero period"));
        }
        Ok(Self { count, period })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_accept_units_and_reject_garbage() {
        assert_eq!(duration("90").unwrap(), Duration::from_secs(90));
        assert_eq!(duration("15m").unwrap(), Duration::from_secs(900));
        assert_eq!(duration("2w").unwrap(), Duration::from_secs(1_209_600));
        for bad in ["", "m", "1y", "-1", "1.5h", "99999999999999999999w"] {
            assert!(duration(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn sizes_accept_binary_units() {
        assert_eq!(byte_size("10MiB").unwrap(), 10 << 20);
        assert_eq!(byte_size("512 KiB").unwrap(), 512 << 10);
        assert_eq!(byte_size("100").unwrap(), 100);
        for bad in ["", "ten", "10XB", "-5"] {
            assert!(byte_size(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn rates_need_a_count_and_a_period() {
        assert_eq!(
            Rate::parse("10/15m").unwrap(),
            Rate {
                count: 10,
                period: Duration::from_secs(900)
            }
        );
        for bad in ["10", "0/1m", "10/0", "x/1m", "10/1y"] {
            assert!(Rate::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn lists_treat_empty_as_empty() {
        assert!(list("").is_empty());
        assert_eq!(list("a, b,,c"), vec!["a", "b", "c"]);
    }

    #[test]
    fn url_redaction_hides_only_the_password() {
        assert_eq!(
            redact_url("postgres://keel:hunter2@db:5432/keel"),
            "postgres://keel:********@db:5432/keel"
        );
        assert_eq!(redact_url("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
    }
}
