//! `kickin.js`, the companion script, built into the binary. Its version is the start
//! of its SHA-256, so `/v1/browser/kickin-<version>.js` can be cached for a year and a
//! new release gets a new URL; `/v1/browser/kickin.js` is revalidated by ETag.

use std::sync::LazyLock;

use crate::crypto::sha256_hex;

pub const SOURCE: &str = include_str!("../../static/kickin.js");

static VERSION: LazyLock<String> =
    LazyLock::new(|| sha256_hex(SOURCE.as_bytes())[..12].to_string());

/// The script's content version (12 hex digits).
pub fn version() -> &'static str {
    &VERSION
}

/// The strong ETag of the script.
pub fn etag() -> String {
    format!("\"{}\"", version())
}

/// The versioned path of this build's script.
pub fn versioned_path() -> String {
    format!("/v1/browser/kickin-{}.js", version())
}

/// True when an `If-None-Match` header names this script.
pub fn matches(if_none_match: &str) -> bool {
    let etag = etag();
    if_none_match
        .split(',')
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == "*" || t == etag)
}

/// The two lines a shop adds to its pages (the second one where a conversion happens).
pub fn snippet(base: &str, key: &str) -> String {
    format!(
        "<script src=\"{base}{}\" data-key=\"{key}\"></script>\n\
         <script>Kickin.track(\"Purchase\", {{value: 129.99, currency: \"USD\"}}, {{orderId: \"1001\"}});</script>",
        versioned_path()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_follows_the_content_and_revalidation_matches_the_etag() {
        assert_eq!(version().len(), 12);
        assert!(matches(&etag()));
        assert!(matches(&format!("\"other\", W/{}", etag())));
        assert!(!matches("\"other\""));
        assert!(versioned_path().ends_with(&format!("{}.js", version())));
    }

    #[test]
    fn the_script_derives_the_documented_id_from_the_order_id() {
        assert!(SOURCE.contains("\"order_\" + String(opts.orderId)"));
        assert!(SOURCE.contains("eventID: id"));
    }
}
