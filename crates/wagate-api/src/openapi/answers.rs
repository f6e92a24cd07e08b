//! What every operation answers, written into the document from the shape of
//! the route, so that it stays true as routes are added.
//!
//! The handlers' annotations name the `data` each operation returns and the
//! errors particular to it. This [`Modify`] then makes the document say what
//! the wire carries:
//!
//! - every JSON success is the contract's envelope, `{success: true, data,
//!   meta}` (plus the optional `pagination` of lists) around the annotated
//!   `data`, except for the few routes in [`RAW`];
//! - every error status an operation can answer is declared, with the error
//!   envelope `{success: false, error: {code, message, details}, meta}` as
//!   its body. Which statuses follow from what the route is: authenticated
//!   (401), rate-limited by [`crate::rate_limit::classify`] (429), taking
//!   parameters or a body (400, 413), addressing something by path (404),
//!   retry-safe with `Idempotency-Key` (422), admin-only (403), bound to a
//!   WhatsApp session (400 `SESSION_NOT_READY`, 403 `SESSION_BANNED`), putting
//!   a message on the wire (403 `MESSAGE_BLOCKED_CONTACT`, 500
//!   `MESSAGE_SEND_FAILED`), and any (500 `INTERNAL_ERROR`). Statuses the
//!   annotations declare keep their description and get the same body.

use std::collections::BTreeMap;

use axum::http::Method;
use serde_json::json;
use utoipa::Modify;
use utoipa::openapi::path::{Operation, ParameterIn, PathItem};
use utoipa::openapi::response::Response;
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::{Content, OpenApi, Ref, RefOr};

/// Routes that answer in their own shape, not the envelope: the health
/// checks (the contract's `{status, …}`) and a stored file's bytes; and
/// every drop-in route (under [`COMPAT`]), which answers as the system it
/// replaces did (its errors keep the envelope).
const RAW: &[&str] = &[
    "/health",
    "/health/detailed",
    "/api/sessions/{id}/files/{file_id}",
];
const COMPAT: &str = "/compat/";
/// Drop-in routes that live at the replaced system's own path.
const COMPAT_PATHS: &[&str] = &["/api/instances/{id}/webhook-setconfig"];

/// Whether a route answers in its own shape rather than the envelope.
fn answers_raw(path: &str) -> bool {
    RAW.contains(&path) || path.starts_with(COMPAT) || COMPAT_PATHS.contains(&path)
}

const JSON: &str = "application/json";

pub struct Answers;

impl Modify for Answers {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components
            .schemas
            .insert("Meta".into(), RefOr::T(meta_schema()));
        components
            .schemas
            .insert("ErrorBody".into(), RefOr::T(error_body_schema()));
        components
            .schemas
            .insert("ErrorEnvelope".into(), RefOr::T(error_envelope_schema()));
        for (path, item) in openapi.paths.paths.iter_mut() {
            for (method, op) in operations(item) {
                if !answers_raw(path) {
                    wrap_successes(op);
                }
                declare_errors(&method, path, op);
            }
        }
    }
}

fn operations(item: &mut PathItem) -> Vec<(Method, &mut Operation)> {
    [
        (Method::GET, item.get.as_mut()),
        (Method::PUT, item.put.as_mut()),
        (Method::POST, item.post.as_mut()),
        (Method::DELETE, item.delete.as_mut()),
        (Method::PATCH, item.patch.as_mut()),
        (Method::HEAD, item.head.as_mut()),
        (Method::OPTIONS, item.options.as_mut()),
        (Method::TRACE, item.trace.as_mut()),
    ]
    .into_iter()
    .filter_map(|(m, op)| op.map(|op| (m, op)))
    .collect()
}

// ---------------------------------------------------------------- successes

/// Puts the envelope around each 2xx JSON body; a 2xx without a body gets
/// the envelope with any `data` (the handler still answers in the envelope).
fn wrap_successes(op: &mut Operation) {
    for (status, response) in op.responses.responses.iter_mut() {
        let RefOr::T(response) = response else {
            continue;
        };
        if !status.starts_with('2') {
            continue;
        }
        if response.content.is_empty() {
            response
                .content
                .insert(JSON.into(), Content::new(Some(success_envelope(None))));
        } else if let Some(content) = response.content.get_mut(JSON) {
            let data = content.schema.take();
            content.schema = Some(success_envelope(data));
        }
    }
}

fn success_envelope(data: Option<RefOr<Schema>>) -> RefOr<Schema> {
    let is_list = matches!(data, Some(RefOr::T(Schema::Array(_))));
    let mut envelope = ObjectBuilder::new()
        .property(
            "success",
            ObjectBuilder::new()
                .schema_type(Type::Boolean)
                .enum_values(Some([true])),
        )
        .required("success")
        .property("data", data.unwrap_or_else(|| RefOr::T(any())))
        .required("data")
        .property("meta", Ref::from_schema_name("Meta"))
        .required("meta");
    if is_list {
        envelope = envelope.property("pagination", Ref::from_schema_name("Pagination"));
    }
    RefOr::T(envelope.into())
}

fn any() -> Schema {
    ObjectBuilder::new()
        .schema_type(SchemaType::AnyValue)
        .into()
}

fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

fn meta_schema() -> Schema {
    ObjectBuilder::new()
        .description(Some("Sent with every answer, success or error."))
        .property(
            "timestamp",
            string().format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::DateTime,
            ))),
        )
        .required("timestamp")
        .property(
            "requestId",
            string().description(Some("The request's X-Request-ID, or one made up")),
        )
        .required("requestId")
        .property("version", string())
        .required("version")
        .into()
}

fn error_body_schema() -> Schema {
    ObjectBuilder::new()
        .property(
            "code",
            string()
                .description(Some("One of the contract's error codes"))
                .examples([json!("VALIDATION_ERROR")]),
        )
        .required("code")
        .property("message", string())
        .required("message")
        .property(
            "details",
            ObjectBuilder::new()
                .schema_type(SchemaType::AnyValue)
                .description(Some("What went wrong in detail, when there is more to say")),
        )
        .into()
}

fn error_envelope_schema() -> Schema {
    ObjectBuilder::new()
        .property(
            "success",
            ObjectBuilder::new()
                .schema_type(Type::Boolean)
                .enum_values(Some([false])),
        )
        .required("success")
        .property("error", Ref::from_schema_name("ErrorBody"))
        .required("error")
        .property("meta", Ref::from_schema_name("Meta"))
        .required("meta")
        .into()
}

// ------------------------------------------------------------------- errors

/// The statuses `op` can answer besides its successes, each with the codes
/// that bring it, from what the route is.
fn error_statuses(method: &Method, path: &str, op: &Operation) -> BTreeMap<u16, Vec<&'static str>> {
    let mut s: BTreeMap<u16, Vec<&'static str>> = BTreeMap::new();
    let mut add = |status: u16, code: &'static str| s.entry(status).or_default().push(code);

    let params = op.parameters.as_deref().unwrap_or_default();
    let has = |place: ParameterIn| params.iter().any(|p| p.parameter_in == place);
    let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
    let session_bound = path.starts_with("/api/sessions/{id}/");

    if secured {
        add(401, "UNAUTHORIZED");
        // `X-Act-As-Tenant` naming no tenant, a tenant naming another
        // (`?tenantId=`), a dashboard cookie without its CSRF token.
        add(403, "FORBIDDEN");
        if crate::rate_limit::classify(method, path).is_some() {
            add(429, "RATE_LIMITED");
        }
    }
    if !params.is_empty() || op.request_body.is_some() {
        add(400, "VALIDATION_ERROR");
    }
    if op.request_body.is_some() {
        add(413, "PAYLOAD_TOO_LARGE");
    }
    if has(ParameterIn::Path) {
        add(
            404,
            if path.starts_with("/api/sessions/{id}") {
                "SESSION_NOT_FOUND"
            } else {
                "NOT_FOUND"
            },
        );
    }
    if params.iter().any(|p| {
        p.parameter_in == ParameterIn::Header && p.name.eq_ignore_ascii_case("Idempotency-Key")
    }) {
        add(422, "IDEMPOTENCY_KEY_REUSED");
    }
    if path.starts_with("/api/tenants") {
        add(403, "FORBIDDEN (the admin key only)");
    }
    if session_bound {
        add(400, "SESSION_NOT_READY");
        add(400, "SESSION_INITIALIZING");
        add(403, "SESSION_BANNED");
    }
    let on_the_wire = path.contains("/messages/") || path.contains("/status/");
    if session_bound && on_the_wire && *method != Method::GET {
        add(403, "MESSAGE_BLOCKED_CONTACT");
        add(500, "MESSAGE_SEND_FAILED");
    }
    add(500, "INTERNAL_ERROR");
    s
}

/// Declares every error status `op` can answer with the error envelope as
/// its body, keeping what the annotations say and naming the codes they
/// leave out.
fn declare_errors(method: &Method, path: &str, op: &mut Operation) {
    let statuses = error_statuses(method, path, op);
    for (status, codes) in statuses {
        let entry = op
            .responses
            .responses
            .entry(status.to_string())
            .or_insert_with(|| RefOr::T(Response::new("")));
        if let RefOr::T(response) = entry {
            for code in codes {
                let name = code.split(' ').next().unwrap_or(code);
                if !response.description.contains(name) {
                    if !response.description.is_empty() {
                        response.description.push_str(", ");
                    }
                    response.description.push_str(code);
                }
            }
        }
    }
    for (status, response) in op.responses.responses.iter_mut() {
        let RefOr::T(response) = response else {
            continue;
        };
        if !(status.starts_with('4') || status.starts_with('5')) {
            continue;
        }
        if response.description.is_empty() {
            response.description = "An error".into();
        }
        response.content.clear();
        response.content.insert(
            JSON.into(),
            Content::new(Some(Ref::from_schema_name("ErrorEnvelope"))),
        );
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;
    use utoipa::OpenApi;

    fn document() -> Value {
        serde_json::to_value(crate::openapi::ApiDoc::openapi()).unwrap()
    }

    fn operations(doc: &Value) -> Vec<(String, String, Value)> {
        let mut out = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                out.push((method.clone(), path.clone(), op.clone()));
            }
        }
        out
    }

    #[test]
    fn every_json_success_is_the_envelope() {
        let doc = document();
        for (method, path, op) in operations(&doc) {
            if super::answers_raw(&path) {
                continue;
            }
            for (status, response) in op["responses"].as_object().unwrap() {
                if !status.starts_with('2') {
                    continue;
                }
                let Some(schema) = response["content"].get("application/json") else {
                    continue;
                };
                let schema = &schema["schema"];
                assert_eq!(
                    schema["required"],
                    serde_json::json!(["success", "data", "meta"]),
                    "{method} {path} {status}: {schema}"
                );
            }
        }
    }

    #[test]
    fn every_error_is_declared_with_the_error_envelope() {
        let doc = document();
        for (method, path, op) in operations(&doc) {
            let responses = op["responses"].as_object().unwrap();
            assert!(responses.contains_key("500"), "{method} {path}");
            if op.get("security").is_some() {
                assert!(responses.contains_key("401"), "{method} {path}");
            }
            if path.contains('{') {
                assert!(responses.contains_key("404"), "{method} {path}");
            }
            for (status, response) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    assert_eq!(
                        response["content"]["application/json"]["schema"]["$ref"],
                        "#/components/schemas/ErrorEnvelope",
                        "{method} {path} {status}"
                    );
                    assert!(!response["description"].as_str().unwrap().is_empty());
                }
            }
        }
    }

    #[test]
    fn lists_carry_their_items_in_data() {
        let doc = document();
        let sessions = &doc["paths"]["/api/sessions"]["get"]["responses"]["200"]["content"]["application/json"]
            ["schema"];
        assert_eq!(sessions["properties"]["data"]["type"], "array");
        assert_eq!(
            sessions["properties"]["pagination"]["$ref"],
            "#/components/schemas/Pagination"
        );
    }
}
