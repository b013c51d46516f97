//! The staff dashboard: accounts by prepaid state, open alarms by severity, and the remote-control
//! commands by state, as tiles, charts (server-rendered SVG) and a table.

use analytics::report::fleet_status::{AreaCollection, FleetStatus};
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
    trips_today: i64,
    reconnects_today: i64,
    /// From the lake, when the service has one: meters heard in the last hour of those registered,
    /// and the collection chart.
    online: Option<(u64, u64)>,
    collection_chart: String,
}

/// Days of collection success shown.
const COLLECTION_DAYS: i64 = 7;
/// Areas drawn on the collection chart (the worst first).
const AREAS_DRAWN: usize = 6;
/// Colours of the areas' lines.
const PALETTE: [&str; AREAS_DRAWN] = [
    "#2f6fbd", "#c25b12", "#3c8d5a", "#8e44ad", "#b3261e", "#5b6776",
];

/// The collection success chart: the areas with the lowest average first, in percent.
fn collection_chart(frame: &Frame, status: &FleetStatus) -> String {
    let t = frame.t;
    let mut areas: Vec<&AreaCollection> = status.collection.iter().collect();
    let average = |days: &[(chrono::NaiveDate, Option<f64>)]| {
        let known: Vec<f64> = days.iter().filter_map(|(_, r)| *r).collect();
        if known.is_empty() {
            1.0
        } else {
            known.iter().sum::<f64>() / known.len() as f64
        }
    };
    areas.sort_by(|a, b| average(&a.1).total_cmp(&average(&b.1)));
    areas.truncate(AREAS_DRAWN);
    let Some((_, first)) = areas.first() else {
        return String::new();
    };
    let labels: Vec<String> = first
        .iter()
        .map(|(d, _)| d.format("%m-%d").to_string())
        .collect();
    let series: Vec<Series> = areas
        .iter()
        .zip(PALETTE)
        .map(|((area, days), color)| Series {
            name: area,
            color,
            values: days.iter().map(|(_, r)| r.map(|r| r * 100.0)).collect(),
        })
        .collect();
    chart(
        ChartKind::Line,
        t.collection_by_area,
        "%",
        &labels,
        &series,
        1,
    )
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
    let done_today = c.done_today().await?;
    let done = |action: RelayAction| {
        done_today
            .iter()
            .find(|(a, _)| a == action.as_str())
            .map_or(0, |(_, n)| *n)
    };
    let lake = match &s.lake {
        Some(lake) => match c.fleet_status(lake, COLLECTION_DAYS).await {
            Ok(status) => Some(status),
            Err(err) => {
                tracing::warn!(error = %err, "the dashboard could not read the lake");
                None
            }
        },
        None => None,
    };
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
        trips_today: done(RelayAction::Trip),
        reconnects_today: done(RelayAction::CloseAllowed) + done(RelayAction::Close),
        online: lake
            .as_ref()
            .map(|l| (l.meters_online, l.meters_registered)),
        collection_chart: lake
            .as_ref()
            .map(|l| collection_chart(&frame, l))
            .unwrap_or_default(),
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
