//! Bodies a derive cannot describe: the beacon (JSON sent as text/plain too), the
//! Meta-compatible request (JSON, form or multipart, `data` in three encodings) and the
//! companion script.

use serde_json::{Map, Value, json};

use crate::browser::beacon::MAX_OBSERVATIONS;

/// `components.schemas`, created if missing.
pub fn components(doc: &mut Value) -> &mut Map<String, Value> {
    let schemas = &mut doc["components"]["schemas"];
    if !schemas.is_object() {
        *schemas = json!({});
    }
    schemas.as_object_mut().expect("an object")
}

/// A string of at most `max` characters; `""` counts as absent.
pub fn text(max: usize, description: &str) -> Value {
    let mut schema = json!({"type": ["string", "null"], "maxLength": max});
    if !description.is_empty() {
        schema["description"] = json!(description);
    }
    schema
}

pub fn complete(doc: &mut Value) {
    cursors(doc);
    components(doc).insert("Observation".into(), observation());
    components(doc).insert("BeaconRequest".into(), beacon_request());
    components(doc).insert("MetaRequest".into(), meta_request());
    components(doc).insert("DeletionRequest".into(), deletion_request());
    let deletion = json!({"required": true, "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/DeletionRequest"}}}});
    for path in [
        "/v1/privacy/deletions",
        "/admin/api/tenants/{id}/privacy/deletions",
    ] {
        let pointer = format!("/paths/{}/post", path.replace('/', "~1"));
        if let Some(op) = doc.pointer_mut(&pointer) {
            op["requestBody"] = deletion.clone();
        }
    }
    let beacon = json!({"$ref": "#/components/schemas/BeaconRequest"});
    if let Some(op) = doc.pointer_mut("/paths/~1v1~1browser~1events/post") {
        op["requestBody"] = json!({"required": true, "content": {
            "application/json": {"schema": beacon}, "text/plain": {"schema": beacon}}});
    }
    let meta = json!({"$ref": "#/components/schemas/MetaRequest"});
    if let Some(op) = doc.pointer_mut("/paths/~1{version}~1{pixel_id}~1events/post") {
        op["requestBody"] = json!({"required": true, "content": {
            "application/json": {"schema": meta}}});
    }
    for path in ["/v1/browser/kickin.js", "/v1/browser/kickin-{version}.js"] {
        let pointer = format!("/paths/{}/get/responses/200", path.replace('/', "~1"));
        if let Some(ok) = doc.pointer_mut(&pointer) {
            ok["content"] = json!({"application/javascript": {"schema": {"type": "string"}}});
        }
    }
}

/// Every list's `cursor`: the `next_cursor` of the page before (`crate::page::CURSOR`).
fn cursors(doc: &mut Value) {
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    let params = paths
        .values_mut()
        .flat_map(|item| {
            item.as_object_mut()
                .into_iter()
                .flat_map(|ops| ops.values_mut())
        })
        .filter_map(|op| op.get_mut("parameters").and_then(Value::as_array_mut))
        .flatten();
    for param in params.filter(|p| p["name"] == "cursor" && p["in"] == "query") {
        param["description"] = json!("the next_cursor of the page before (\"\" is the first page)");
        param["schema"] = json!({"type": "string", "pattern": crate::page::CURSOR});
    }
}

/// Printable text: no control characters (as `char::is_control`).
const PRINTABLE: &str = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$";
/// Meta's `_fbp` / `_fbc` cookie: `fb.<subdomain index>.<time>.<value>`; `""` is absent.
const COOKIE: &str = "^(fb\\.[0-9]+\\.[0-9]+\\.[ -~]+)?$";

fn observation() -> Value {
    let printable = |min: usize, max: usize| json!({"type": "string", "minLength": min, "maxLength": max, "pattern": PRINTABLE});
    let cookie = json!({"type": ["string", "null"], "maxLength": 256, "pattern": COOKIE});
    json!({"type": "object", "additionalProperties": false,
        "required": ["event_name", "page_url", "ts_ms"],
        "description": "What the pixel was told on one page: no personal data",
        "properties": {
            "event_name": printable(1, 100),
            "event_id": {"type": ["string", "null"], "maxLength": 256, "pattern": PRINTABLE},
            "fbp": cookie, "fbc": cookie,
            "page_url": {"type": "string", "maxLength": 2048,
                         "pattern": "^https?://[^\\u0000-\\u001f\\u007f-\\u009f]*$",
                         "description": "the query string and fragment are dropped"},
            "ts_ms": {"type": "integer", "minimum": 1, "maximum": 99_999_999_999_999_i64}}})
}

fn beacon_request() -> Value {
    json!({"type": "object", "additionalProperties": false, "required": ["events"],
        "properties": {"events": {"type": "array", "minItems": 1, "maxItems": MAX_OBSERVATIONS,
            "items": {"$ref": "#/components/schemas/Observation"}}}})
}

fn meta_request() -> Value {
    let param = json!({"type": ["string", "null"], "maxLength": 256});
    json!({"type": "object", "required": ["data"],
        "description": "Meta's Conversions API request body, unchanged. The same parameters may come form-encoded or as multipart/form-data, with data as a JSON string (an array of events, or an array of JSON-encoded events, as Meta's Python SDK sends it), and access_token in the query string, the body or an Authorization: Bearer header.",
        "properties": {
            "data": {"type": "array", "minItems": 1, "maxItems": 1000,
                     "items": {"$ref": "#/components/schemas/Event"}},
            "access_token": {"type": "string", "description": "a Kickin API key with scope ingest"},
            "test_event_code": param, "partner_agent": param, "namespace_id": param, "upload_tag": param}})
}

/// One person, by exactly one identifier (`privacy::identify`).
fn deletion_request() -> Value {
    let id = |what: &str| {
        json!({"type": "string", "minLength": 1, "maxLength": 512, "pattern": "\\S",
        "description": format!("{what}, raw (normalized as at ingest) or its SHA-256 hex")})
    };
    json!({"type": "object", "required": ["user_data"], "properties": {"user_data": {
        "type": "object", "minProperties": 1, "maxProperties": 1, "additionalProperties": false,
        "description": "exactly one identifier; a value that cannot be one (an email without @) is 422",
        "properties": {"em": id("email"), "ph": id("phone number"), "external_id": id("your id of the person")}}}})
}
