//! From errors to HTTP answers: the status comes from the error's kind; the body is
//! `{"error": message, "kind": kind}`. Internal details are logged, not shown.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::{ControlError, ErrorKind};

/// An error as the API answers it.
#[derive(Debug)]
pub struct ApiError(pub ControlError);

impl From<ControlError> for ApiError {
    fn from(err: ControlError) -> Self {
        Self(err)
    }
}

impl ApiError {
    /// The status code and the kind's name an error answers with.
    pub fn status(&self) -> (StatusCode, &'static str) {
        match self.0.kind() {
            ErrorKind::Invalid => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            ErrorKind::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            ErrorKind::Conflict => (StatusCode::CONFLICT, "conflict"),
            ErrorKind::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            ErrorKind::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
            ErrorKind::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ErrorKind::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }

    /// What the caller is told: the error itself, except that internal failures are logged and
    /// answered with a generic sentence.
    pub fn public_message(&self) -> String {
        match self.0.kind() {
            ErrorKind::Unavailable | ErrorKind::Internal => {
                tracing::error!(error = %self.0, "request failed");
                if self.0.storage_full() {
                    "the accounts database cannot write: its disk is full. Nothing was changed; \
                     try again later (a payment with the same reference is booked once)"
                        .to_string()
                } else {
                    "the service could not complete the request; it is logged".to_string()
                }
            }
            _ => self.0.to_string(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, name) = self.status();
        let message = self.public_message();
        (
            status,
            Json(serde_json::json!({ "error": message, "kind": name })),
        )
            .into_response()
    }
}
