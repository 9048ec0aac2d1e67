//! Origins a browser key accepts beacons from: written `scheme://host[:port]` (a trailing
//! slash is dropped, a default port too, everything lowercased), or `https://*.shop.example`
//! for every subdomain of `shop.example` (not the domain itself). Compared with the
//! request's `Origin` header exactly as browsers send it.

use crate::error::{AppError, AppResult};

/// At most this many origins per key.
pub const MAX_ORIGINS: usize = 20;

/// A normalized origin, or `None` when `raw` is not one (paths, queries, user info,
/// `null` and other schemes are not origins).
pub fn normalize(raw: &str) -> Option<String> {
    let lower = raw.trim().to_ascii_lowercase();
    let (scheme, rest) = lower.split_once("://")?;
    let default_port = match scheme {
        "https" => "443",
        "http" => "80",
        _ => return None,
    };
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.is_empty() || authority.contains(['/', '?', '#', '@', ' ']) {
        return None;
    }
    let (host, port) = split_port(authority)?;
    if !valid_host(host) {
        return None;
    }
    Some(match port {
        Some(p) if p != default_port => format!("{scheme}://{host}:{p}"),
        _ => format!("{scheme}://{host}"),
    })
}

fn split_port(authority: &str) -> Option<(&str, Option<&str>)> {
    let (host, port) = match authority.rsplit_once(':') {
        // An IPv6 literal's own colons stay inside its brackets.
        Some((h, p)) if !p.contains(']') => (h, Some(p)),
        _ => (authority, None),
    };
    if let Some(p) = port
        && (p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    Some((host, port))
}

fn valid_host(host: &str) -> bool {
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return inner.parse::<std::net::Ipv6Addr>().is_ok();
    }
    let name = host.strip_prefix("*.").unwrap_or(host);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// The allow-list of a new key, normalized; 422 naming the origin at fault.
pub fn parse_allowed(raw: &[String]) -> AppResult<Vec<String>> {
    if raw.is_empty() || raw.len() > MAX_ORIGINS {
        return Err(AppError::invalid(
            "allowed_origins",
            format!("give 1 to {MAX_ORIGINS} origins, like https://shop.example"),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(raw.len());
    for (i, origin) in raw.iter().enumerate() {
        let normalized = normalize(origin).ok_or_else(|| {
            AppError::invalid(
                format!("allowed_origins[{i}]"),
                "an origin is scheme://host[:port] (https://shop.example), without a path",
            )
        })?;
        if !out.contains(&normalized) {
            out.push(normalized);
        }
    }
    Ok(out)
}

/// True when the request's `Origin` is one of `allowed` (or under one of its wildcards).
pub fn allows(allowed: &[String], origin: &str) -> bool {
    let Some(origin) = normalize(origin).filter(|o| !o.contains('*')) else {
        return false;
    };
    allowed.iter().any(|a| match a.split_once("://*.") {
        Some((scheme, domain)) => origin
            .strip_prefix(scheme)
            .and_then(|o| o.strip_prefix("://"))
            .and_then(|host| host.strip_suffix(domain))
            .is_some_and(|sub| sub.len() > 1 && sub.ends_with('.')),
        None => *a == origin,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_normalized_as_browsers_send_them() {
        for (raw, expected) in [
            ("https://Shop.Example/", Some("https://shop.example")),
            ("https://shop.example:443", Some("https://shop.example")),
            ("http://127.0.0.1:8080", Some("http://127.0.0.1:8080")),
            ("http://[::1]:3000", Some("http://[::1]:3000")),
            ("https://*.shop.example", Some("https://*.shop.example")),
            ("https://shop.example/checkout", None),
            ("https://user@shop.example", None),
            ("ftp://shop.example", None),
            ("null", None),
            ("https://", None),
            ("https://shop.example:99999x", None),
        ] {
            assert_eq!(normalize(raw).as_deref(), expected, "{raw}");
        }
    }

    #[test]
    fn only_listed_origins_and_their_wildcard_subdomains_are_allowed() {
        let allowed = parse_allowed(&[
            "https://shop.example".into(),
            "https://*.brand.example".into(),
        ])
        .unwrap();
        assert!(allows(&allowed, "https://shop.example"));
        assert!(allows(&allowed, "https://eu.brand.example"));
        assert!(!allows(&allowed, "https://brand.example"), "not the apex");
        assert!(!allows(&allowed, "https://evilbrand.example"));
        assert!(!allows(&allowed, "http://shop.example"), "scheme counts");
        assert!(!allows(&allowed, "https://shop.example.evil.example"));
        assert!(!allows(&allowed, "null"));
        assert!(!allows(&allowed, "https://*.brand.example"));
    }

    #[test]
    fn a_bad_origin_is_named_by_its_index() {
        let e = parse_allowed(&["https://ok.example".into(), "shop.example".into()]).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("allowed_origins[1]"));
        let e = parse_allowed(&[]).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("allowed_origins"));
    }
}
