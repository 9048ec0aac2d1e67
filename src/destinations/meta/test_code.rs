//! Which `test_event_code` an event goes to Meta with. A destination's own code goes on
//! every send to it while it is set; otherwise an event posted to the Meta-compatible
//! endpoint with a request-level `test_event_code` keeps that code (stored with the
//! event under [`POSTED_TEST_CODE`]); other events go live. Meta takes one code per
//! request, so a claim is split into one group per code.

/// The member of `events.payload` holding the code an event was posted with.
pub const POSTED_TEST_CODE: &str = "test_event_code";

pub use crate::destinations::stored::by_test_code;

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::destinations::StoredEvent;
    use uuid::Uuid;

    fn event(code: Option<&str>) -> StoredEvent {
        let mut payload = json!({"action_source": "website"});
        if let Some(code) = code {
            payload[POSTED_TEST_CODE] = json!(code);
        }
        StoredEvent {
            event_id: "e".into(),
            event_name: "Purchase".into(),
            event_time_ms: 1,
            payload,
            identifiers: Default::default(),
            ga4_client_id: None,
            ga4_user_id: None,
            ga4_app_instance_id: None,
            ga4_ip_override: None,
            trace_context: None,
        }
    }

    #[test]
    fn events_split_by_the_code_they_were_posted_with() {
        let (live, a, b) = (event(None), event(Some("TEST1")), event(Some("TEST2")));
        let ids: Vec<Uuid> = (0..4).map(|_| Uuid::now_v7()).collect();
        let claim = [(ids[0], &live), (ids[1], &a), (ids[2], &live), (ids[3], &b)];
        let groups = by_test_code(&claim, None);
        let shape: Vec<(Option<&str>, Vec<Uuid>)> = groups
            .iter()
            .map(|(c, g)| (*c, g.iter().map(|(id, _)| *id).collect()))
            .collect();
        assert_eq!(
            shape,
            vec![
                (None, vec![ids[0], ids[2]]),
                (Some("TEST1"), vec![ids[1]]),
                (Some("TEST2"), vec![ids[3]]),
            ]
        );
    }

    #[test]
    fn the_destinations_own_code_wins_and_keeps_one_request() {
        let (live, a) = (event(None), event(Some("TEST1")));
        let claim = [(Uuid::now_v7(), &live), (Uuid::now_v7(), &a)];
        let groups = by_test_code(&claim, Some("OWN"));
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].0, Some("OWN"));
        assert_eq!(groups[0].1.len(), 2);
    }
}
