//! The staff dashboard: accounts by prepaid state, open alarms by severity, and the remote-control
//! commands by state, as tiles, charts (server-rendered SVG) and a table.

use analytics::report::svg::{chart, ChartKind, Series};
use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::labels::Label;
use super::{render, Frame};
use crate::domain::command::CommandState;
use crate::domain::prepaid::PrepaidState;
use crate::http::auth::Caller;
use crate::http::{ApiError, HttpState};
use crate::ControlError;
use ingest::dlt645::relay::RelayAction;

/// One row of the commands table.
struct CommandRow {
    action: String,
    state: String,
    count: i64,
}

/// A stored name in the page's language (the name itself when it is not one of `T`'s).
fn named<T: Label>(
    name: &str,
    parse: impl Fn(&str) -> Option<T>,
    lang: super::locale::Lang,
) -> String {
    parse(name).map_or_else(|| name.to_string(), |v| v.label(lang).to_string())
}

/// The dashboard page.
#[derive(Template)]
#[template(path = "dashboard.html")]
struct Dashboard {
    frame: Frame,
    accounts: i64,
    tripped: i64,
    open_alarms: i64,
    in_flight: i64,
    states_chart: String,
    alarms_chart: String,
    commands: Vec<CommandRow>,
    /// When the figures were read, in the utility's zone.
    updated: String,
}

/// A bar chart of `counts` (label, value) in the dashboard's style.
fn bars(title: &str, unit: &str, legend: &str, counts: &[(String, i64)]) -> String {
    let labels: Vec<String> = counts.iter().map(|(l, _)| l.clone()).collect();
    let values = counts.iter().map(|(_, n)| Some(*n as f64)).collect();
    let series = [Series {
        name: legend,
        color: "#2f6fbd",
        values,
    }];
    chart(ChartKind::Bar, title, unit, &labels, &series, 1)
}

async fn build(s: &HttpState, frame: Frame) -> Result<Dashboard, ControlError> {
    let c = &s.control;
    let t = frame.t;
    let by_state = c.state_summary().await?;
    let count_of = |name: &str| {
        by_state
            .iter()
            .find(|(s, _)| s == name)
            .map_or(0, |(_, n)| *n)
    };
    // In the order the states worsen.
    let state_counts: Vec<(String, i64)> = PrepaidState::ALL
        .iter()
        .rev()
        .map(|state| {
            (
                state.label(frame.lang).to_string(),
                count_of(state.as_str()),
            )
        })
        .collect();
    let alarms = c.open_alarm_counts().await?;
    let commands = c.command_summary().await?;
    let in_flight = commands
        .iter()
        .filter(|(_, state, _)| CommandState::parse(state).is_some_and(|s| !s.is_terminal()))
        .map(|(_, _, n)| n)
        .sum();
    Ok(Dashboard {
        accounts: by_state.iter().map(|(_, n)| n).sum(),
        tripped: count_of(PrepaidState::OverdraftTrip.as_str()),
        open_alarms: alarms.iter().map(|(_, n)| n).sum(),
        in_flight,
        states_chart: bars(
            t.accounts_by_state,
            t.accounts_unit,
            t.accounts_total,
            &state_counts,
        ),
        alarms_chart: bars(t.alarms_by_kind, t.alarms_unit, t.open_alarms, &alarms),
        commands: commands
            .into_iter()
            .map(|(action, state, count)| CommandRow {
                action: named(&action, RelayAction::parse, frame.lang),
                state: named(&state, CommandState::parse, frame.lang),
                count,
            })
            .collect(),
        updated: frame.at(c.now()),
        frame,
    })
}

/// `GET /`: the dashboard.
pub async fn page(State(s): State<HttpState>, caller: Caller, headers: HeaderMap) -> Response {
    let frame = Frame::new(&s, &caller, &headers, "/");
    match build(&s, frame).await {
        Ok(page) => render(StatusCode::OK, &page),
        Err(err) => ApiError(err).into_response(),
    }
}
