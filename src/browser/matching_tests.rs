use super::*;

const T0: i64 = 1_764_590_000_000;
const MIN: i64 = 60_000;

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn server(n: u128, name: &str, event_id: &str, fbp: Option<&str>, at: i64) -> ServerEvent {
    ServerEvent {
        row_id: id(n),
        event_name: name.into(),
        event_id: event_id.into(),
        fbp: fbp.map(str::to_string),
        event_time_ms: at,
        received_at_ms: at,
    }
}

fn browser(
    n: u128,
    name: &str,
    event_id: Option<&str>,
    fbp: Option<&str>,
    at: i64,
) -> BrowserEvent {
    BrowserEvent {
        row_id: id(n),
        event_name: name.into(),
        event_id: event_id.map(str::to_string),
        fbp: fbp.map(str::to_string),
        fired_at_ms: at,
    }
}

fn category_of(s: ServerEvent, b: BrowserEvent) -> Category {
    assign(&[s], &[b]).servers[&id(1)].0
}

#[test]
fn the_same_name_and_id_within_48_hours_is_matched() {
    let s = server(1, "Purchase", "order_1", None, T0);
    let b = browser(2, "Purchase", Some("order_1"), None, T0 - 5 * MIN);
    let out = assign(&[s], &[b]);
    assert_eq!(out.servers[&id(1)], (Category::Matched, Some(id(2))));
    assert_eq!(out.browsers[&id(2)], Some(id(1)));
}

#[test]
fn exactly_48_hours_apart_is_still_matched_and_a_millisecond_more_is_a_timing_gap() {
    for (gap, expected) in [
        (PIXEL_WINDOW_MS, Category::Matched),
        (PIXEL_WINDOW_MS + 1, Category::TimingGap),
    ] {
        let pixel_first = browser(2, "Purchase", Some("o"), None, T0 - gap);
        let pixel_late = browser(2, "Purchase", Some("o"), None, T0 + gap);
        let s = server(1, "Purchase", "o", None, T0);
        assert_eq!(
            category_of(s.clone(), pixel_first),
            expected,
            "pixel first, {gap}"
        );
        assert_eq!(category_of(s, pixel_late), expected, "server first, {gap}");
    }
}

#[test]
fn the_48_hours_count_from_the_arrival_not_the_event_time() {
    let mut s = server(1, "Purchase", "o", None, T0);
    s.event_time_ms = T0 - 3 * PIXEL_WINDOW_MS;
    let b = browser(2, "Purchase", Some("o"), None, T0);
    assert_eq!(category_of(s, b), Category::Matched);
}

#[test]
fn the_same_id_with_a_name_differing_only_by_case_is_a_name_case_mismatch() {
    let s = server(1, "purchase", "o", None, T0);
    let b = browser(2, "Purchase", Some("o"), None, T0 + 3 * PIXEL_WINDOW_MS);
    assert_eq!(category_of(s, b), Category::NameCaseMismatch);
}

#[test]
fn the_same_id_under_another_name_is_no_pair() {
    let s = server(1, "Purchase", "o", Some("v"), T0);
    let b = browser(2, "AddToCart", Some("o"), Some("v"), T0);
    assert_eq!(pairing(&s, &b), None);
    assert_eq!(category_of(s, b), Category::ServerOnly);
}

#[test]
fn the_same_visitor_and_name_within_10_minutes_with_another_id_is_an_id_mismatch() {
    let s = server(1, "Purchase", "server-1", Some("v"), T0);
    let b = browser(
        2,
        "Purchase",
        Some("pixel-1"),
        Some("v"),
        T0 + VISITOR_WINDOW_MS,
    );
    assert_eq!(category_of(s, b), Category::IdMismatch);
}

#[test]
fn the_same_visitor_without_an_id_on_the_pixel_is_browser_missing_event_id() {
    let s = server(1, "Purchase", "server-1", Some("v"), T0);
    let b = browser(2, "Purchase", None, Some("v"), T0 - VISITOR_WINDOW_MS);
    assert_eq!(category_of(s, b), Category::BrowserMissingEventId);
}

#[test]
fn the_visitor_window_counts_from_the_event_time_and_ends_at_10_minutes() {
    let mut s = server(1, "Purchase", "server-1", Some("v"), T0);
    s.received_at_ms = T0 + PIXEL_WINDOW_MS;
    let near = browser(2, "Purchase", None, Some("v"), T0 + 2 * MIN);
    assert_eq!(
        category_of(s.clone(), near),
        Category::BrowserMissingEventId
    );
    let far = browser(2, "Purchase", None, Some("v"), T0 + VISITOR_WINDOW_MS + 1);
    assert_eq!(category_of(s, far), Category::ServerOnly);
}

#[test]
fn another_visitor_another_name_or_no_fbp_is_server_only() {
    let s = server(1, "Purchase", "s", Some("v"), T0);
    for b in [
        browser(2, "Purchase", None, Some("w"), T0),
        browser(2, "Lead", None, Some("v"), T0),
        browser(2, "Purchase", None, None, T0),
    ] {
        assert_eq!(category_of(s.clone(), b), Category::ServerOnly);
    }
    let no_fbp = server(1, "Purchase", "s", None, T0);
    assert_eq!(
        category_of(no_fbp, browser(2, "Purchase", None, None, T0)),
        Category::ServerOnly
    );
}

#[test]
fn an_observation_is_claimed_once_by_its_strongest_partner() {
    // b2 is an exact match of s1 and a same-visitor pair of s3: s1 takes it, s3 falls
    // back to its own visitor pair b4.
    let servers = [
        server(1, "Purchase", "order_1", Some("v"), T0),
        server(3, "Purchase", "server-3", Some("v"), T0 + MIN),
    ];
    let browsers = [
        browser(2, "Purchase", Some("order_1"), Some("v"), T0),
        browser(4, "Purchase", None, Some("v"), T0 + 9 * MIN),
    ];
    let out = assign(&servers, &browsers);
    assert_eq!(out.servers[&id(1)], (Category::Matched, Some(id(2))));
    assert_eq!(
        out.servers[&id(3)],
        (Category::BrowserMissingEventId, Some(id(4)))
    );
}

#[test]
fn a_case_mismatch_is_preferred_to_a_timing_gap_and_both_to_a_visitor_pair() {
    let s = [server(1, "Purchase", "o", Some("v"), T0)];
    let browsers = [
        browser(2, "Purchase", Some("other"), Some("v"), T0),
        browser(3, "Purchase", Some("o"), None, T0 + 3 * PIXEL_WINDOW_MS),
        browser(4, "purchase", Some("o"), None, T0 + 4 * PIXEL_WINDOW_MS),
    ];
    let out = assign(&s, &browsers);
    assert_eq!(
        out.servers[&id(1)],
        (Category::NameCaseMismatch, Some(id(4)))
    );
    assert_eq!(out.browsers[&id(2)], None, "left for browser_only");
}

#[test]
fn among_equal_pairings_the_closest_in_time_wins() {
    let s = [server(1, "Purchase", "o", None, T0)];
    let browsers = [
        browser(2, "Purchase", Some("o"), None, T0 - 30 * MIN),
        browser(3, "Purchase", Some("o"), None, T0 + MIN),
    ];
    assert_eq!(
        assign(&s, &browsers).servers[&id(1)],
        (Category::Matched, Some(id(3)))
    );
}

#[test]
fn the_outcome_does_not_depend_on_the_order_rows_arrive_in() {
    let servers = vec![
        server(1, "Purchase", "order_1", Some("v"), T0),
        server(3, "Purchase", "server-3", Some("v"), T0 + MIN),
        server(5, "Lead", "lead-5", Some("w"), T0),
        server(7, "purchase", "order_7", None, T0),
    ];
    let browsers = vec![
        browser(2, "Purchase", Some("order_1"), Some("v"), T0),
        browser(4, "Purchase", None, Some("v"), T0 + 2 * MIN),
        browser(6, "Purchase", Some("x"), Some("v"), T0 + 3 * MIN),
        browser(8, "Purchase", Some("order_7"), None, T0),
        browser(
            9,
            "Lead",
            Some("lead-5"),
            Some("w"),
            T0 + PIXEL_WINDOW_MS + 1,
        ),
    ];
    let expected = assign(&servers, &browsers);
    let (mut s, mut b) = (servers.clone(), browsers.clone());
    for round in 0..12 {
        s.rotate_left(1);
        if round % 2 == 0 {
            b.reverse();
        } else {
            b.rotate_left(2);
        }
        assert_eq!(assign(&s, &b), expected, "round {round}");
    }
    assert_eq!(expected.servers[&id(5)].0, Category::TimingGap);
    assert_eq!(expected.servers[&id(7)].0, Category::NameCaseMismatch);
    assert_eq!(expected.browsers[&id(6)], None);
}

#[test]
fn categories_round_trip_through_their_names() {
    for c in Category::ALL {
        assert_eq!(Category::parse(c.as_str()), Some(c));
    }
    assert_eq!(Category::parse("Matched"), None);
}
