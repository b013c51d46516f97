//! Reading a page form's fields (`application/x-www-form-urlencoded`), and the 303 that follows a
//! successful form (post/redirect/get: a reload does not post again).

use std::collections::HashMap;

use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};

use crate::ControlError;

/// A form's fields by name (a repeated name keeps its last value).
#[derive(Debug, Default)]
pub(crate) struct FormFields(HashMap<String, String>);

impl FormFields {
    /// The fields of a body.
    pub fn parse(body: &[u8]) -> Self {
        Self(url::form_urlencoded::parse(body).into_owned().collect())
    }

    /// A field's value, trimmed; empty when absent.
    pub fn text(&self, name: &str) -> &str {
        self.0.get(name).map_or("", |v| v.trim())
    }

    /// A field that must be filled in; `label` names it in the error.
    pub fn required(&self, name: &str, label: &str) -> Result<&str, ControlError> {
        match self.text(name) {
            "" => Err(ControlError::Invalid(format!("{label} is required"))),
            value => Ok(value),
        }
    }
}

/// After a form did its work: back to `path` with a `done` marker the page turns into a message.
pub(crate) fn done(path: &str, marker: &str) -> Response {
    Redirect::to(&format!("{path}?done={marker}")).into_response()
}

/// The answer to a form whose work gave `result`: back to `path` with `marker`, or the error as a page
/// that links back to `path`.
pub(crate) fn finish<T>(
    result: Result<T, ControlError>,
    headers: &HeaderMap,
    path: &str,
    marker: &str,
) -> Response {
    match result {
        Ok(_) => done(path, marker),
        Err(err) => super::failed(headers, err, path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_decoded_trimmed_and_checked() {
        let form = FormFields::parse(b"amount=+12.50+&reason=%E7%94%B5%E8%B4%B9&empty=");
        assert_eq!(form.text("amount"), "12.50");
        assert_eq!(form.text("reason"), "电费");
        assert_eq!(form.text("missing"), "");
        assert!(form.required("empty", "x").is_err());
        assert_eq!(form.required("amount", "x").unwrap(), "12.50");
    }
}
