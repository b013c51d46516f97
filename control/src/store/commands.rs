//! The `commands` table (one row per relay command, with its lifecycle state) and `command_events`
//! (every transition, in order).

use chrono::{DateTime, Utc};
use ingest::command::AckOutcome;
use ingest::dlt645::RelayAction;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::sql::{self, Param};
use super::{instant, maybe_instant, micros, stored_enum, Conn};
use crate::domain::command::CommandState;
use crate::ControlError;

/// A relay command as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Command {
    /// Unique id (echoed by the collector's acknowledgement).
    pub command_id: String,
    /// Meter.
    pub meter_id: String,
    /// Collector that owns the meter's bus.
    pub collector_id: String,
    /// What the meter should do.
    pub action: RelayAction,
    /// Lifecycle state.
    pub state: CommandState,
    /// Why.
    pub reason: String,
    /// Who or what asked for it (`billing`, `payment`, a user).
    pub requested_by: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Not to be sent before.
    pub not_before: DateTime<Utc>,
    /// Not to be executed after (the DL/T 645 validity deadline).
    pub deadline: DateTime<Utc>,
    /// Sends so far.
    pub attempts: u32,
    /// Sends allowed.
    pub max_attempts: u32,
    /// Transitions so far (the last `command_events.step`).
    pub steps: i64,
    /// Last handed to the outbox.
    pub sent_at: Option<DateTime<Utc>>,
    /// Last acknowledged.
    pub acked_at: Option<DateTime<Utc>>,
    /// Reached a terminal state.
    pub finished_at: Option<DateTime<Utc>>,
    /// The last acknowledgement's outcome.
    pub outcome: Option<AckOutcome>,
    /// The last error (a refusal's error word, a failure's reason).
    pub error: Option<String>,
    /// The relay bit read back after execution.
    pub relay_open: Option<bool>,
}

const COLUMNS: &str = "command_id, meter_id, collector_id, action, state, holds_slot, reason, \
     requested_by, created_at, not_before, deadline, attempts, max_attempts, steps, sent_at, acked_at, \
     finished_at, outcome, error, relay_open";

fn from_row(row: &AnyRow) -> Result<Command, ControlError> {
    let small = |name: &str| -> Result<u32, ControlError> {
        let value: i64 = row.try_get(name)?;
        u32::try_from(value).map_err(|_| ControlError::Corrupt(format!("{name} {value}")))
    };
    Ok(Command {
        command_id: row.try_get("command_id")?,
        meter_id: row.try_get("meter_id")?,
        collector_id: row.try_get("collector_id")?,
        action: stored_enum(
            &row.try_get::<String, _>("action")?,
            "relay action",
            RelayAction::parse,
        )?,
        state: stored_enum(
            &row.try_get::<String, _>("state")?,
            "command state",
            CommandState::parse,
        )?,
        reason: row.try_get("reason")?,
        requested_by: row.try_get("requested_by")?,
        created_at: instant(row.try_get("created_at")?)?,
        not_before: instant(row.try_get("not_before")?)?,
        deadline: instant(row.try_get("deadline")?)?,
        attempts: small("attempts")?,
        max_attempts: small("max_attempts")?,
        steps: row.try_get("steps")?,
        sent_at: maybe_instant(row.try_get("sent_at")?)?,
        acked_at: maybe_instant(row.try_get("acked_at")?)?,
        finished_at: maybe_instant(row.try_get("finished_at")?)?,
        outcome: row
            .try_get::<Option<String>, _>("outcome")?
            .map(|o| stored_enum(&o, "ack outcome", AckOutcome::parse))
            .transpose()?,
        error: row.try_get("error")?,
        relay_open: row.try_get::<Option<i64>, _>("relay_open")?.map(|b| b != 0),
    })
}

/// Whether an action switches the relay (and so holds the meter's in-flight slot).
pub fn switches(action: RelayAction) -> bool {
    matches!(
        action,
        RelayAction::Trip
            | RelayAction::CloseAllowed
            | RelayAction::Close
            | RelayAction::PreTripAutoClose
            | RelayAction::PreTripCloseAllowed
    )
}

/// 1 while a relay-switching command is live: it holds its meter's single in-flight slot (warnings
/// such as alarm on/off do not).
fn slot(command: &Command) -> i64 {
    i64::from(switches(command.action) && !command.state.is_terminal())
}

/// Inserts a new command. Fails with a conflict if the meter already has a relay command in flight.
pub async fn insert(conn: &mut Conn, c: &Command, now: DateTime<Utc>) -> Result<(), ControlError> {
    let statement = format!(
        "INSERT INTO commands ({COLUMNS}, live, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, \
         $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)"
    );
    let params: [Param; 22] = [
        (&c.command_id).into(),
        (&c.meter_id).into(),
        (&c.collector_id).into(),
        c.action.as_str().into(),
        c.state.as_str().into(),
        slot(c).into(),
        (&c.reason).into(),
        (&c.requested_by).into(),
        micros(c.created_at).into(),
        micros(c.not_before).into(),
        micros(c.deadline).into(),
        i64::from(c.attempts).into(),
        i64::from(c.max_attempts).into(),
        c.steps.into(),
        c.sent_at.map(micros).into(),
        c.acked_at.map(micros).into(),
        c.finished_at.map(micros).into(),
        c.outcome.map(AckOutcome::as_str).into(),
        c.error.as_deref().into(),
        c.relay_open.map(i64::from).into(),
        i64::from(!c.state.is_terminal()).into(),
        micros(now).into(),
    ];
    match sql::execute(conn, &statement, &params).await {
        Ok(_) => Ok(()),
        Err(ControlError::Database(sqlx::Error::Database(db))) if db.is_unique_violation() => {
            Err(ControlError::Conflict(format!(
                "meter {} already has a relay command in flight",
                c.meter_id
            )))
        }
        Err(err) => Err(err),
    }
}

/// Writes every mutable field of `c`.
pub async fn save(conn: &mut Conn, c: &Command, now: DateTime<Utc>) -> Result<(), ControlError> {
    let statement = "UPDATE commands SET state = $1, holds_slot = $2, live = $3, not_before = $4, \
         attempts = $5, steps = $6, sent_at = $7, acked_at = $8, finished_at = $9, outcome = $10, \
         error = $11, relay_open = $12, updated_at = $13, deadline = $14 WHERE command_id = $15";
    let params: [Param; 15] = [
        c.state.as_str().into(),
        slot(c).into(),
        i64::from(!c.state.is_terminal()).into(),
        micros(c.not_before).into(),
        i64::from(c.attempts).into(),
        c.steps.into(),
        c.sent_at.map(micros).into(),
        c.acked_at.map(micros).into(),
        c.finished_at.map(micros).into(),
        c.outcome.map(AckOutcome::as_str).into(),
        c.error.as_deref().into(),
        c.relay_open.map(i64::from).into(),
        micros(now).into(),
        micros(c.deadline).into(),
        (&c.command_id).into(),
    ];
    sql::execute(conn, statement, &params).await?;
    Ok(())
}

/// Records one transition.
pub async fn insert_event(
    conn: &mut Conn,
    command_id: &str,
    step: i64,
    from: Option<CommandState>,
    to: CommandState,
    at: DateTime<Utc>,
    note: &str,
) -> Result<(), ControlError> {
    sqlx::query(
        "INSERT INTO command_events (command_id, step, from_state, to_state, at, note) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(command_id)
    .bind(step)
    .bind(from.map(CommandState::as_str))
    .bind(to.as_str())
    .bind(micros(at))
    .bind(note)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// One transition as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CommandEventRow {
    /// Step number from 1.
    pub step: i64,
    /// State before (none for the creation).
    pub from_state: Option<String>,
    /// State after.
    pub to_state: String,
    /// When.
    pub at: DateTime<Utc>,
    /// Why.
    pub note: String,
}

/// The transitions of a command, in order.
pub async fn events(
    conn: &mut Conn,
    command_id: &str,
) -> Result<Vec<CommandEventRow>, ControlError> {
    let rows = sqlx::query(
        "SELECT step, from_state, to_state, at, note FROM command_events WHERE command_id = $1 \
         ORDER BY step",
    )
    .bind(command_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(CommandEventRow {
                step: row.try_get("step")?,
                from_state: row.try_get("from_state")?,
                to_state: row.try_get("to_state")?,
                at: instant(row.try_get("at")?)?,
                note: row.try_get("note")?,
            })
        })
        .collect()
}

/// Commands matching `filter` (a `WHERE …` clause with its order and limit).
async fn select(
    conn: &mut Conn,
    filter: &str,
    params: &[Param<'_>],
) -> Result<Vec<Command>, ControlError> {
    let query = format!("SELECT {COLUMNS} FROM commands {filter}");
    sql::rows(conn, &query, params, from_row).await
}

/// The first command matching `filter`.
async fn select_one(
    conn: &mut Conn,
    filter: &str,
    params: &[Param<'_>],
) -> Result<Option<Command>, ControlError> {
    let query = format!("SELECT {COLUMNS} FROM commands {filter}");
    sql::row(conn, &query, params, from_row).await
}

/// One command.
pub async fn get(conn: &mut Conn, command_id: &str) -> Result<Option<Command>, ControlError> {
    select_one(conn, "WHERE command_id = $1", &[command_id.into()]).await
}

/// The relay command in flight for a meter, if any.
pub async fn in_flight(conn: &mut Conn, meter_id: &str) -> Result<Option<Command>, ControlError> {
    select_one(
        conn,
        "WHERE meter_id = $1 AND holds_slot = 1",
        &[meter_id.into()],
    )
    .await
}

/// A meter's latest command of `action`, if any.
pub async fn latest_of(
    conn: &mut Conn,
    meter_id: &str,
    action: RelayAction,
) -> Result<Option<Command>, ControlError> {
    let filter =
        "WHERE meter_id = $1 AND action = $2 ORDER BY created_at DESC, command_id DESC LIMIT 1";
    select_one(conn, filter, &[meter_id.into(), action.as_str().into()]).await
}

/// Live commands in `state` whose `not_before` has come, oldest first.
pub async fn due(
    conn: &mut Conn,
    state: CommandState,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Command>, ControlError> {
    let filter = "WHERE live = 1 AND state = $1 AND not_before <= $2 \
                  ORDER BY not_before, command_id LIMIT $3";
    select(
        conn,
        filter,
        &[state.as_str().into(), micros(now).into(), limit.into()],
    )
    .await
}

/// Live commands whose deadline has passed.
pub async fn overdue(
    conn: &mut Conn,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Command>, ControlError> {
    let filter = "WHERE live = 1 AND deadline < $1 ORDER BY deadline LIMIT $2";
    select(conn, filter, &[micros(now).into(), limit.into()]).await
}

/// Live commands in any of `states` (for verification against readings).
pub async fn live_in(
    conn: &mut Conn,
    states: &[CommandState],
) -> Result<Vec<Command>, ControlError> {
    let mut all = Vec::new();
    for state in states {
        let filter = "WHERE live = 1 AND state = $1 ORDER BY created_at";
        all.extend(select(conn, filter, &[state.as_str().into()]).await?);
    }
    Ok(all)
}

/// A meter's commands, newest first.
pub async fn for_meter(
    conn: &mut Conn,
    meter_id: &str,
    limit: i64,
) -> Result<Vec<Command>, ControlError> {
    let filter = "WHERE meter_id = $1 ORDER BY created_at DESC, command_id LIMIT $2";
    select(conn, filter, &[meter_id.into(), limit.into()]).await
}

/// Commands counted by action and state.
pub async fn summary(conn: &mut Conn) -> Result<Vec<(String, String, i64)>, ControlError> {
    Ok(sqlx::query_as(
        "SELECT action, state, count(*) FROM commands GROUP BY action, state ORDER BY action, state",
    )
    .fetch_all(&mut *conn)
    .await?)
}

/// Commands finished (`done`) at or after `since`, counted by action.
pub async fn done_since(
    conn: &mut Conn,
    since: DateTime<Utc>,
) -> Result<Vec<(String, i64)>, ControlError> {
    Ok(sqlx::query_as(
        "SELECT c.action, count(*) FROM command_events e JOIN commands c ON c.command_id = e.command_id \
         WHERE e.to_state = 'done' AND e.at >= $1 GROUP BY c.action ORDER BY c.action",
    )
    .bind(micros(since))
    .fetch_all(&mut *conn)
    .await?)
}

/// Commands in `state`.
pub async fn count_in(conn: &mut Conn, state: CommandState) -> Result<i64, ControlError> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM commands WHERE state = $1")
            .bind(state.as_str())
            .fetch_one(&mut *conn)
            .await?,
    )
}

/// Commands of `action` that `requested_by` asked for since `since` (for the trip-burst alarm).
pub async fn count_requested_since(
    conn: &mut Conn,
    requested_by: &str,
    action: RelayAction,
    since: DateTime<Utc>,
) -> Result<i64, ControlError> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM commands WHERE requested_by = $1 AND action = $2 AND created_at >= $3",
    )
    .bind(requested_by)
    .bind(action.as_str())
    .bind(micros(since))
    .fetch_one(&mut *conn)
    .await?)
}
