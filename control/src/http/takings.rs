//! `GET /api/takings?date=YYYY-MM-DD`: a local day's takings per taker (default: today).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use chrono::NaiveDate;

use super::handlers::{query, to_json, Answer};
use super::HttpState;

/// `?date=` of the takings routes.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DateQuery {
    /// The local date (default: today).
    pub date: Option<NaiveDate>,
}

/// The date a query asks for, or today in the utility's zone.
pub(crate) fn date_or_today(s: &HttpState, asked: Option<NaiveDate>) -> NaiveDate {
    asked.unwrap_or_else(|| {
        s.control
            .now()
            .with_timezone(&s.control.rules().zone)
            .date_naive()
    })
}

/// `GET /api/takings?date=`.
pub async fn takings(
    State(s): State<HttpState>,
    q: Result<Query<DateQuery>, QueryRejection>,
) -> Answer {
    let q = query(q)?;
    let date = date_or_today(&s, q.date);
    to_json(s.control.takings(date).await?)
}
