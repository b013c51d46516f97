//! Planners' load reports as pages: `GET /reports` (choose an area and dates), `GET /reports/load`
//! (the content of `meterlake report load`: totals, charts, daily and monthly tables, top consumers)
//! and `GET /reports/load.csv` (the same as CSV, for spreadsheets).

use analytics::report::{export, html, LoadReportRequest};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{Duration, NaiveDate};

use super::{failed, render, Frame};
use crate::http::auth::Caller;
use crate::http::HttpState;
use crate::ControlError;

/// The longest range one report covers, days.
const MAX_DAYS: i64 = 400;
/// Top consumers listed.
const TOP: usize = 10;

/// The report form's fields.
#[derive(Debug, Default, serde::Deserialize)]
pub struct ReportQuery {
    #[serde(default)]
    area: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

/// The report page (the form, and the report when one was asked for).
#[derive(Template)]
#[template(path = "reports.html")]
struct ReportPage {
    frame: Frame,
    areas: Vec<String>,
    area: String,
    from: String,
    to: String,
    /// The report's markup (built from escaped values by the report module).
    report: Option<String>,
    csv_link: String,
    no_lake: bool,
}

/// The request a query makes, or why it is not one.
fn request(q: &ReportQuery) -> Result<LoadReportRequest, ControlError> {
    let date = |text: &str, what: &str| {
        NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
            .map_err(|_| ControlError::Invalid(format!("{what} {text:?}: a date YYYY-MM-DD")))
    };
    let (from, to) = (date(&q.from, "from")?, date(&q.to, "to")?);
    if to < from || (to - from).num_days() >= MAX_DAYS {
        return Err(ControlError::Invalid(format!(
            "the range {from} to {to}: forward, at most {MAX_DAYS} days"
        )));
    }
    if q.area.trim().is_empty() || q.area.len() > 64 || q.area.chars().any(char::is_control) {
        return Err(ControlError::Invalid("choose an area".into()));
    }
    Ok(LoadReportRequest {
        area: q.area.trim().to_string(),
        from,
        to,
        top_n: TOP,
    })
}

fn csv_link(q: &ReportQuery) -> String {
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("area", &q.area)
        .append_pair("from", &q.from)
        .append_pair("to", &q.to)
        .finish();
    format!("/reports/load.csv?{query}")
}

/// `GET /reports` and `GET /reports/load`: the form, and the report when area and dates are given.
pub async fn page(
    State(s): State<HttpState>,
    caller: Caller,
    headers: HeaderMap,
    Query(mut q): Query<ReportQuery>,
) -> Response {
    let frame = Frame::new(&s, &caller, &headers, "/reports");
    let Some(lake) = &s.lake else {
        let page = ReportPage {
            frame,
            areas: Vec::new(),
            area: q.area,
            from: q.from,
            to: q.to,
            report: None,
            csv_link: String::new(),
            no_lake: true,
        };
        return render(StatusCode::OK, &page);
    };
    let areas = match s.control.areas(lake).await {
        Ok(areas) => areas,
        Err(err) => return failed(&headers, err, "/"),
    };
    let yesterday = s.control.now().with_timezone(&frame.zone).date_naive() - Duration::days(1);
    let asked = !q.area.is_empty() || !q.from.is_empty();
    if q.from.is_empty() {
        q.from = (yesterday - Duration::days(6)).to_string();
    }
    if q.to.is_empty() {
        q.to = yesterday.to_string();
    }
    if q.area.is_empty() {
        q.area = areas.first().cloned().unwrap_or_default();
    }
    let report = if asked {
        let built = async {
            let request = request(&q)?;
            s.control.load_report(lake, request).await
        };
        match built.await {
            Ok(report) => Some(html::body(&report, frame.lang.report_language())),
            Err(err) => return failed(&headers, err, "/reports"),
        }
    } else {
        None
    };
    let page = ReportPage {
        frame,
        areas,
        csv_link: csv_link(&q),
        area: q.area,
        from: q.from,
        to: q.to,
        report,
        no_lake: false,
    };
    render(StatusCode::OK, &page)
}

/// `GET /reports/load.csv`: the report as CSV (a download).
pub async fn csv(
    State(s): State<HttpState>,
    headers: HeaderMap,
    Query(q): Query<ReportQuery>,
) -> Response {
    let built = async {
        let lake = s
            .lake
            .as_ref()
            .ok_or_else(|| ControlError::NotFound("this service has no lake".into()))?;
        let request = request(&q)?;
        s.control.load_report(lake, request).await
    };
    match built.await {
        Ok(report) => {
            let name = format!(
                "attachment; filename=\"load-{}-{}-{}.csv\"",
                report
                    .area_id
                    .replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "_"),
                report.from,
                report.to
            );
            (
                StatusCode::OK,
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                    (header::CONTENT_DISPOSITION, name),
                    (header::CACHE_CONTROL, "no-store".to_string()),
                ],
                export::to_csv(&report),
            )
                .into_response()
        }
        Err(err) => failed(&headers, err, "/reports"),
    }
}
