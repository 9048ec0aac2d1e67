//! Every error an operation can answer, with the contract's body: what the derive lists
//! is completed from what the operation takes (a body, parameters, credentials), so a
//! generated client knows each status it will meet. The Meta-compatible endpoint answers
//! in Graph's error envelope instead.

use serde_json::{Map, Value, json};

use super::bodies::components;

const META_COMPAT: &str = "/{version}/{pixel_id}/events";
/// Operations that take a browser key in the query string instead of a bearer token.
const KEYED: [&str; 2] = ["/v1/browser/events", "/v1/browser/kickin.js"];

pub fn complete(doc: &mut Value) {
    let schemas = components(doc);
    schemas.insert("Error".into(), error_schema());
    schemas.insert("GraphError".into(), graph_error_schema());
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for (method, op) in item.iter_mut() {
            if let Some(op) = op.as_object_mut() {
                complete_operation(path, method, op);
            }
        }
    }
}

/// What one operation may answer besides its own successes.
fn statuses(path: &str, method: &str, op: &Map<String, Value>) -> Vec<u16> {
    let secured = op
        .get("security")
        .and_then(Value::as_array)
        .is_some_and(|s| !s.is_empty());
    let keyed = secured || path == META_COMPAT || KEYED.contains(&path);
    let has_body = op.contains_key("requestBody");
    let has_params = op
        .get("parameters")
        .and_then(Value::as_array)
        .is_some_and(|p| !p.is_empty());
    let mut codes = vec![503];
    let mut add = |cond: bool, code: u16| {
        if cond {
            codes.push(code);
        }
    };
    add(has_body || has_params, 400);
    add(keyed, 401);
    add(keyed, 403);
    add(path.contains('{'), 404);
    add(method != "get" && secured, 409);
    add(has_body, 413);
    add(has_body, 422);
    add(keyed || path == "/admin/api/session", 429);
    codes
}

fn complete_operation(path: &str, method: &str, op: &mut Map<String, Value>) {
    let codes = statuses(path, method, op);
    let schema = if path == META_COMPAT {
        "#/components/schemas/GraphError"
    } else {
        "#/components/schemas/Error"
    };
    let responses = op
        .entry("responses")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .expect("responses is an object");
    for code in codes {
        responses
            .entry(code.to_string())
            .or_insert_with(|| json!({"description": describe(code)}));
    }
    for (code, response) in responses.iter_mut() {
        let status = code.parse::<u16>().unwrap_or(0);
        if response.get("description").is_none() {
            response["description"] = json!(describe(status));
        }
        let is_error = status >= 400;
        if is_error && response.get("content").is_none() {
            response["content"] = json!({"application/json": {"schema": {"$ref": schema}}});
        }
    }
}

fn describe(code: u16) -> &'static str {
    match code {
        400 => "malformed JSON, a wrong shape or an invalid parameter; `field` names it",
        401 => "missing, unknown or revoked credentials",
        403 => "the credentials' scope or role does not allow this",
        404 => "not found in this tenant",
        409 => "a state conflict",
        413 => "the body is over the limit",
        422 => "a valid request that cannot be done",
        429 => "rate_limited, plan_limit_reached or too_many_logins (see Retry-After)",
        503 => "the database is unavailable; retry",
        200 => "OK",
        201 => "created",
        202 => "accepted",
        204 => "done; no body",
        _ => "see the operation",
    }
}

fn error_schema() -> Value {
    json!({"type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["code", "message"], "properties": {
            "code": {"type": "string", "description": "snake_case, stable"},
            "message": {"type": "string", "description": "a human sentence"},
            "field": {"type": "string", "description": "the field at fault, e.g. events[3].event_time"}}}}})
}

fn graph_error_schema() -> Value {
    json!({"type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["message", "type", "code", "fbtrace_id"], "properties": {
            "message": {"type": "string"},
            "type": {"type": "string", "description": "OAuthException"},
            "code": {"type": "integer", "description": "100 invalid parameter, 104 no token, 190 unknown or revoked key, 200 not allowed, 4 plan limit, 17 rate limit, 2 unavailable"},
            "error_subcode": {"type": ["integer", "null"]},
            "is_transient": {"type": "boolean"},
            "error_user_title": {"type": ["string", "null"]},
            "error_user_msg": {"type": ["string", "null"]},
            "fbtrace_id": {"type": "string"}}}}})
}
