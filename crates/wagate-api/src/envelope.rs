//! The success envelope: `{"success": true, "data": …, "meta": {…}}`, plus
//! `pagination` on lists.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

pub fn meta() -> Value {
    json!({
        "timestamp": wagate_core::iso_ms(wagate_core::now_ms()),
        "requestId": crate::request_id::current(),
        "version": wagate_core::VERSION,
    })
}

/// A successful answer carrying `data`.
pub struct Envelope<T> {
    status: StatusCode,
    data: T,
    pagination: Option<Pagination>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Pagination {
    pub page: u32,
    pub limit: u32,
    pub total: u64,
    pub total_pages: u64,
}

impl Pagination {
    pub fn new(page: u32, limit: u32, total: u64) -> Self {
        let total_pages = if limit == 0 {
            0
        } else {
            total.div_ceil(limit as u64)
        };
        Pagination {
            page,
            limit,
            total,
            total_pages,
        }
    }
}

pub fn ok<T: Serialize>(data: T) -> Envelope<T> {
    Envelope {
        status: StatusCode::OK,
        data,
        pagination: None,
    }
}

pub fn created<T: Serialize>(data: T) -> Envelope<T> {
    Envelope {
        status: StatusCode::CREATED,
        data,
        pagination: None,
    }
}

pub fn accepted<T: Serialize>(data: T) -> Envelope<T> {
    Envelope {
        status: StatusCode::ACCEPTED,
        data,
        pagination: None,
    }
}

pub fn paginated<T: Serialize>(data: T, pagination: Pagination) -> Envelope<T> {
    Envelope {
        status: StatusCode::OK,
        data,
        pagination: Some(pagination),
    }
}

impl<T> Envelope<T> {
    /// The data alone (a compatibility route answers in another shape).
    pub fn into_data(self) -> T {
        self.data
    }
}

/// `{"message": "…"}`, the data of actions that return nothing else.
pub fn message(text: &str) -> Envelope<Value> {
    ok(json!({ "message": text }))
}

impl<T: Serialize> IntoResponse for Envelope<T> {
    fn into_response(self) -> Response {
        let mut body = json!({ "success": true, "data": self.data, "meta": meta() });
        if let Some(p) = self.pagination {
            body["pagination"] = json!(p);
        }
        (self.status, Json(body)).into_response()
    }
}
