//! `GET|POST /my/{meter}/notifications`: the customer's notification channels and language.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::super::form::{finish, FormFields};
use super::super::{failed, render, Frame};
use super::{customer_nav, DoneQuery};
use crate::app::notifications::Prefs;
use crate::domain::notice::Language;
use crate::http::auth::Caller;
use crate::http::HttpState;
use crate::ControlError;

/// The settings page.
#[derive(Template)]
#[template(path = "my_notifications.html")]
struct SettingsPage {
    frame: Frame,
    meter_id: String,
    zh: bool,
    app_push: bool,
    email: String,
    saved: bool,
}

/// `GET /my/{meter}/notifications`.
pub async fn page(
    State(s): State<HttpState>,
    caller: Caller,
    headers: HeaderMap,
    Path(meter): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Response {
    let path = format!("/my/{meter}/notifications");
    let mut frame = Frame::new(&s, &caller, &headers, &path);
    customer_nav(&mut frame, &meter);
    match s.control.notification_prefs(&meter).await {
        Ok(prefs) => render(
            StatusCode::OK,
            &SettingsPage {
                frame,
                meter_id: meter,
                zh: prefs.lang == Language::Zh,
                app_push: prefs.app_push,
                email: prefs.email.unwrap_or_default(),
                saved: q.done == "saved",
            },
        ),
        Err(err) => failed(&headers, err, "/my"),
    }
}

/// `POST /my/{meter}/notifications`: `lang` (`zh`|`en`), `app_push` (a checkbox), `email`.
pub async fn save(
    State(s): State<HttpState>,
    caller: Caller,
    headers: HeaderMap,
    Path(meter): Path<String>,
    body: Bytes,
) -> Response {
    let back = format!("/my/{meter}/notifications");
    let form = FormFields::parse(&body);
    let saved = async {
        let lang = Language::parse(form.text("lang"))
            .ok_or_else(|| ControlError::Invalid("choose a language".into()))?;
        let email = Some(form.text("email").to_string()).filter(|e| !e.is_empty());
        let prefs = Prefs {
            lang,
            app_push: form.text("app_push") == "on",
            email,
        };
        s.control
            .set_notification_prefs(&meter, &prefs, &caller.actor())
            .await
    };
    finish(saved.await, &headers, &back, "saved")
}
