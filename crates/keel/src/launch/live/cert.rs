//! The one thing the site probe reads from a certificate: when it expires.
//!
//! Written out rather than taken from an X.509 crate: a certificate's
//! `notAfter` is five DER elements deep at a fixed place, and the crates
//! that parse whole certificates (x509-parser, x509-cert) would bring
//! half a dozen new dependencies for this one date. The certificate has
//! already been verified by rustls when it is read here.

use chrono::{DateTime, NaiveDateTime, Utc};

/// One DER element: its tag, its contents and what follows it.
fn element(bytes: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = bytes.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let len = rest[..count].iter().fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, &rest[count..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

const SEQUENCE: u8 = 0x30;
const EXPLICIT_VERSION: u8 = 0xa0;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;

/// The end of the validity of the DER certificate `der`, or `None` when
/// it is not shaped like a certificate.
///
/// `Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version
/// OPTIONAL, serialNumber, signature, issuer, validity SEQUENCE {
/// notBefore, notAfter }, … }, … }` (RFC 5280, 4.1).
pub(super) fn not_after(der: &[u8]) -> Option<DateTime<Utc>> {
    let (SEQUENCE, certificate, _) = element(der)? else {
        return None;
    };
    let (SEQUENCE, tbs, _) = element(certificate)? else {
        return None;
    };
    let (tag, _, mut rest) = element(tbs)?;
    if tag == EXPLICIT_VERSION {
        rest = element(rest)?.2; // the serial number after the version
    }
    let rest = element(rest)?.2; // signature algorithm
    let rest = element(rest)?.2; // issuer
    let (SEQUENCE, validity, _) = element(rest)? else {
        return None;
    };
    let (_, _, after_not_before) = element(validity)?;
    let (tag, time, _) = element(after_not_before)?;
    let text = std::str::from_utf8(time).ok()?;
    let naive = match tag {
        // YYMMDDHHMMSSZ: 50-99 are 1950-1999 (RFC 5280, 4.1.2.5.1).
        UTC_TIME => {
            let year: u32 = text.get(..2)?.parse().ok()?;
            let century = if year >= 50 { "19" } else { "20" };
            NaiveDateTime::parse_from_str(&format!("{century}{text}"), "%Y%m%d%H%M%SZ").ok()?
        }
        GENERALIZED_TIME => NaiveDateTime::parse_from_str(text, "%Y%m%d%H%M%SZ").ok()?,
        _ => return None,
    };
    Some(naive.and_utc())
}

#[cfg(test)]
mod tests {
    use base64::Engine;

    use super::*;

    /// Self-signed P-256 certificates for CN=keel.test made with Python's
    /// `cryptography`, valid from 2025-01-01 to 2030-06-15 12:00:00 (a
    /// UTCTime) and to 2051-03-01 08:30:00 (a GeneralizedTime, as dates
    /// from 2050 on are written).
    const UTC_TIME_CERT: &str = "MIIBJzCBzqADAgECAhQUDamkIFxuxNUJpafNx0yBQJwRdDAKBggqhkjOPQQDAjAUMRIwEAYDVQQDDAlrZWVsLnRlc3QwHhcNMjUwMTAxMDAwMDAwWhcNMzAwNjE1MTIwMDAwWjAUMRIwEAYDVQQDDAlrZWVsLnRlc3QwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAARF/Rr8CbnW9rgPSxdSXDOBDdI5Qkzm4cMipvrjumRthNmiCSQ9VPy+dHM+BymKpabgqSujhlUP5fyGftskXHlAMAoGCCqGSM49BAMCA0gAMEUCIGHL8a8HznXvdqoVCYsLOpUiGFatPMzdbLRwX81kohA+AiEA4TNIKh6uX6HIxveZvJR5FqScuyySiK6V4KsjMm0AXp0=";
    const GENERALIZED_TIME_CERT: &str = "MIIBKTCB0KADAgECAhQUDamkIFxuxNUJpafNx0yBQJwRdDAKBggqhkjOPQQDAjAUMRIwEAYDVQQDDAlrZWVsLnRlc3QwIBcNMjUwMTAxMDAwMDAwWhgPMjA1MTAzMDEwODMwMDBaMBQxEjAQBgNVBAMMCWtlZWwudGVzdDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABEX9GvwJudb2uA9LF1JcM4EN0jlCTObhwyKm+uO6ZG2E2aIJJD1U/L50cz4HKYqlpuCpK6OGVQ/l/IZ+2yRceUAwCgYIKoZIzj0EAwIDSAAwRQIgZAhP/+N1ieCnTDlfefrxfqy3tRSqmMsaAQNar2tScLYCIQCBlCX1k3ahKG6uDPeFsICJ278oid6dhHhIne9YqBCD6A==";

    fn der(base64: &str) -> Vec<u8> {
        base64::engine::general_purpose::STANDARD.decode(base64).unwrap()
    }

    #[test]
    fn reads_not_after_in_either_time_format() {
        for (cert, expected) in [
            (UTC_TIME_CERT, "2030-06-15T12:00:00Z"),
            (GENERALIZED_TIME_CERT, "2051-03-01T08:30:00Z"),
        ] {
            let expected = expected.parse::<DateTime<Utc>>().unwrap();
            assert_eq!(not_after(&der(cert)), Some(expected));
        }
    }

    #[test]
    fn refuses_what_is_not_a_certificate() {
        let der = der(UTC_TIME_CERT);
        let cases: [(&[u8], &str); 5] = [
            (&[], "nothing"),
            (&[0x30], "a tag without a length"),
            (&[0x30, 0x05, 0x01], "a length past the end"),
            (&[0x02, 0x01, 0x00], "an integer, not a sequence"),
            (&der[..40], "a certificate cut short"),
        ];
        for (input, why) in cases {
            assert_eq!(not_after(input), None, "{why}");
        }
    }
}
