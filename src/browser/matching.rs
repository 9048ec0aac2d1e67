//! The dedup rules, pure: which category a server event falls in given the browser
//! observations around it, and which observation it claims. No I/O and no clock: every
//! time is passed in, so arrival order cannot change a result.
//!
//! A server event and an observation can pair in one of five ways ([`pairing`]). When
//! several pairings compete for the same server event or observation, the strongest is
//! taken first ([`assign`]): exact matches, then case mismatches, then timing gaps, then
//! same-visitor pairs; within one kind the closest in time, then the older rows. The
//! result depends only on the set of rows, never on the order they arrived in.

use std::collections::{HashMap, HashSet};

use uuid::Uuid;

use crate::clock::MS_PER_HOUR;

/// Meta deduplicates a pixel and a server event received within 48 hours of each other.
pub const PIXEL_WINDOW_MS: i64 = 48 * MS_PER_HOUR;
/// A pixel event of the same visitor and name this close to the server event's time is
/// taken for the same conversion (sent with another id, or none).
pub const VISITOR_WINDOW_MS: i64 = 10 * 60_000;

/// The category of a server event; `BrowserOnly` is the one of an unclaimed observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    Matched,
    NameCaseMismatch,
    TimingGap,
    IdMismatch,
    BrowserMissingEventId,
    ServerOnly,
    BrowserOnly,
}

impl Category {
    /// Every category a server event can fall in.
    pub const SERVER: [Category; 6] = [
        Category::Matched,
        Category::NameCaseMismatch,
        Category::TimingGap,
        Category::IdMismatch,
        Category::BrowserMissingEventId,
        Category::ServerOnly,
    ];
    pub const ALL: [Category; 7] = [
        Category::Matched,
        Category::NameCaseMismatch,
        Category::TimingGap,
        Category::IdMismatch,
        Category::BrowserMissingEventId,
        Category::ServerOnly,
        Category::BrowserOnly,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Matched => "matched",
            Category::NameCaseMismatch => "name_case_mismatch",
            Category::TimingGap => "timing_gap",
            Category::IdMismatch => "id_mismatch",
            Category::BrowserMissingEventId => "browser_missing_event_id",
            Category::ServerOnly => "server_only",
            Category::BrowserOnly => "browser_only",
        }
    }

    pub fn parse(s: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// Competing pairings are taken in this order (lower first).
    fn strength(self) -> u8 {
        match self {
            Category::Matched => 0,
            Category::NameCaseMismatch => 1,
            Category::TimingGap => 2,
            Category::IdMismatch | Category::BrowserMissingEventId => 3,
            Category::ServerOnly | Category::BrowserOnly => 4,
        }
    }
}

/// A server event as the rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerEvent {
    pub row_id: Uuid,
    pub event_name: String,
    pub event_id: String,
    /// Keyed hash of the event's `fbp`, when it has one.
    pub fbp: Option<String>,
    pub event_time_ms: i64,
    /// When the event reached Kickin (Meta's 48 h window counts from its arrival).
    pub received_at_ms: i64,
}

/// A browser observation as the rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserEvent {
    pub row_id: Uuid,
    pub event_name: String,
    pub event_id: Option<String>,
    pub fbp: Option<String>,
    pub fired_at_ms: i64,
}

/// How `s` and `b` pair, if they do.
pub fn pairing(s: &ServerEvent, b: &BrowserEvent) -> Option<Category> {
    if !s.event_id.is_empty() && b.event_id.as_deref() == Some(s.event_id.as_str()) {
        if b.event_name == s.event_name {
            let gap = (b.fired_at_ms - s.received_at_ms).abs();
            return Some(if gap <= PIXEL_WINDOW_MS {
                Category::Matched
            } else {
                Category::TimingGap
            });
        }
        return (b.event_name.to_lowercase() == s.event_name.to_lowercase())
            .then_some(Category::NameCaseMismatch);
    }
    let same_visitor = s.fbp.is_some() && s.fbp == b.fbp;
    let close = (b.fired_at_ms - s.event_time_ms).abs() <= VISITOR_WINDOW_MS;
    if b.event_name != s.event_name || !same_visitor || !close {
        return None;
    }
    Some(match b.event_id {
        None => Category::BrowserMissingEventId,
        Some(_) => Category::IdMismatch,
    })
}

/// How far apart the two sides of a pairing are, as the pairing measures it.
fn distance(s: &ServerEvent, b: &BrowserEvent, category: Category) -> i64 {
    match category {
        Category::IdMismatch | Category::BrowserMissingEventId => {
            (b.fired_at_ms - s.event_time_ms).abs()
        }
        _ => (b.fired_at_ms - s.received_at_ms).abs(),
    }
}

/// The outcome for a set of rows: each server event's category and observation, and
/// for each observation the server event that claimed it.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Assignment {
    pub servers: HashMap<Uuid, (Category, Option<Uuid>)>,
    pub browsers: HashMap<Uuid, Option<Uuid>>,
}

/// Every possible pairing of the rows, found through the two ways they can meet: the
/// event id, and the visitor with the event name.
fn candidates(servers: &[ServerEvent], browsers: &[BrowserEvent]) -> Vec<(usize, usize, Category)> {
    let mut by_id: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut by_visitor: HashMap<(&str, &str), Vec<usize>> = HashMap::new();
    for (i, b) in browsers.iter().enumerate() {
        if let Some(id) = &b.event_id {
            by_id.entry(id).or_default().push(i);
        }
        if let Some(fbp) = &b.fbp {
            by_visitor.entry((fbp, &b.event_name)).or_default().push(i);
        }
    }
    let mut edges = Vec::new();
    for (si, s) in servers.iter().enumerate() {
        let mut seen = HashSet::new();
        let near_id = by_id.get(s.event_id.as_str()).into_iter().flatten();
        let near_visitor = s
            .fbp
            .as_deref()
            .and_then(|fbp| by_visitor.get(&(fbp, s.event_name.as_str())))
            .into_iter()
            .flatten();
        for &bi in near_id.chain(near_visitor) {
            if seen.insert(bi)
                && let Some(category) = pairing(s, &browsers[bi])
            {
                edges.push((si, bi, category));
            }
        }
    }
    edges
}

/// Pairs server events with observations, strongest pairings first (see the module
/// header). Each row takes part in at most one pair.
pub fn assign(servers: &[ServerEvent], browsers: &[BrowserEvent]) -> Assignment {
    let mut edges = candidates(servers, browsers);
    edges.sort_by_key(|&(si, bi, c)| {
        let (s, b) = (&servers[si], &browsers[bi]);
        (c.strength(), distance(s, b, c), s.row_id, b.row_id)
    });
    let mut out = Assignment::default();
    for (si, bi, category) in edges {
        let (s, b) = (servers[si].row_id, browsers[bi].row_id);
        if out.servers.contains_key(&s) || out.browsers.contains_key(&b) {
            continue;
        }
        out.servers.insert(s, (category, Some(b)));
        out.browsers.insert(b, Some(s));
    }
    for s in servers {
        out.servers
            .entry(s.row_id)
            .or_insert((Category::ServerOnly, None));
    }
    for b in browsers {
        out.browsers.entry(b.row_id).or_insert(None);
    }
    out
}

#[cfg(test)]
#[path = "matching_tests.rs"]
mod tests;
