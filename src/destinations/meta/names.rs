//! Meta's standard events, spelled exactly as Meta matches them: the `event_name_case`
//! warning names the one an event's name differs from only by case.

/// Meta's standard events, spelled exactly as Meta matches them.
pub const META_STANDARD_EVENTS: [&str; 18] = [
    "AddPaymentInfo",
    "AddToCart",
    "AddToWishlist",
    "CompleteRegistration",
    "Contact",
    "CustomizeProduct",
    "Donate",
    "FindLocation",
    "InitiateCheckout",
    "Lead",
    "PageView",
    "Purchase",
    "Schedule",
    "Search",
    "StartTrial",
    "SubmitApplication",
    "Subscribe",
    "ViewContent",
];

/// The standard name that `name` equals except for case, if any (`purchase` → `Purchase`).
pub fn case_mismatch(name: &str) -> Option<&'static str> {
    META_STANDARD_EVENTS
        .iter()
        .find(|standard| **standard != name && standard.eq_ignore_ascii_case(name))
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowercase_purchase_is_a_case_mismatch_but_purchase_is_not() {
        assert_eq!(case_mismatch("purchase"), Some("Purchase"));
        assert_eq!(case_mismatch("PURCHASE"), Some("Purchase"));
        assert_eq!(case_mismatch("Purchase"), None);
        assert_eq!(case_mismatch("purchase_completed"), None);
    }
}
