//! GA4 event names: Meta standard names become GA4 recommended names; GA4's naming
//! rules say which names it cannot take.

/// Meta standard names that GA4 has a recommended event for.
const GA4_RECOMMENDED: [(&str, &str); 9] = [
    ("Purchase", "purchase"),
    ("AddToCart", "add_to_cart"),
    ("InitiateCheckout", "begin_checkout"),
    ("ViewContent", "view_item"),
    ("Lead", "generate_lead"),
    ("CompleteRegistration", "sign_up"),
    ("Search", "search"),
    ("AddPaymentInfo", "add_payment_info"),
    ("AddToWishlist", "add_to_wishlist"),
];

/// GA4 reserves these names; an event carrying one would be dropped.
const GA4_RESERVED: &[&str] = &[
    "ad_activeview",
    "ad_click",
    "ad_exposure",
    "ad_impression",
    "ad_query",
    "ad_reward",
    "adunit_exposure",
    "app_background",
    "app_clear_data",
    "app_exception",
    "app_install",
    "app_remove",
    "app_store_refund",
    "app_store_subscription_cancel",
    "app_store_subscription_convert",
    "app_store_subscription_renew",
    "app_update",
    "app_upgrade",
    "click",
    "dynamic_link_app_open",
    "dynamic_link_app_update",
    "dynamic_link_first_open",
    "error",
    "file_download",
    "firebase_campaign",
    "first_open",
    "first_visit",
    "form_start",
    "form_submit",
    "in_app_purchase",
    "notification_dismiss",
    "notification_foreground",
    "notification_open",
    "notification_receive",
    "os_update",
    "page_view",
    "scroll",
    "session_start",
    "session_start_with_rollout",
    "user_engagement",
    "video_complete",
    "video_progress",
    "video_start",
    "view_search_results",
];

const GA4_RESERVED_PREFIXES: [&str; 4] = ["_", "firebase_", "ga_", "google_"];

/// The name a GA4 destination receives: the recommended name for a Meta standard event,
/// otherwise the name itself. `None` when GA4 cannot take it (bad characters, too long,
/// reserved) — that destination is then skipped with `invalid_ga4_event_name`.
pub fn ga4_name(meta_name: &str) -> Option<String> {
    if let Some((_, ga4)) = GA4_RECOMMENDED.iter().find(|(meta, _)| *meta == meta_name) {
        return Some((*ga4).to_string());
    }
    let valid_chars = meta_name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_');
    let starts_with_letter = meta_name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic());
    let reserved = GA4_RESERVED.contains(&meta_name)
        || GA4_RESERVED_PREFIXES
            .iter()
            .any(|p| meta_name.starts_with(p));
    (valid_chars && starts_with_letter && meta_name.len() <= 40 && !reserved)
        .then(|| meta_name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_standard_names_map_to_ga4_recommended_names() {
        assert_eq!(ga4_name("Purchase").as_deref(), Some("purchase"));
        assert_eq!(
            ga4_name("InitiateCheckout").as_deref(),
            Some("begin_checkout")
        );
        assert_eq!(ga4_name("CompleteRegistration").as_deref(), Some("sign_up"));
        assert_eq!(ga4_name("Contact").as_deref(), Some("Contact"));
        assert_eq!(ga4_name("my_event").as_deref(), Some("my_event"));
    }

    #[test]
    fn names_ga4_cannot_take_are_refused() {
        for name in [
            "page_view",
            "_private",
            "google_thing",
            "has space",
            "9lives",
            &"x".repeat(41),
        ] {
            assert_eq!(ga4_name(name), None, "{name}");
        }
    }
}
