//! Alarms with their lifecycle (`meter_alarms`, migration 0004).

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::sql::{self, Param};
use super::{instant, maybe_instant, micros, stored_enum, Conn};
use crate::domain::alarm::{AlarmKind, AlarmState};
use crate::ControlError;

/// One alarm as stored.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MeterAlarm {
    /// Id.
    pub id: String,
    /// Meter.
    pub meter_id: String,
    /// Transformer area, when the registry knows it.
    pub area_id: Option<String>,
    /// Bus, when the registry knows it.
    pub bus_id: Option<String>,
    /// What it is about.
    #[serde(serialize_with = "kind_name")]
    pub kind: AlarmKind,
    /// How serious.
    pub severity: analytics::diagnosis::Severity,
    /// Lifecycle state.
    pub state: AlarmState,
    /// What was seen, in words.
    pub detail: String,
    /// The readings that triggered it (JSON), for reading rules.
    pub evidence: Option<serde_json::Value>,
    /// The command involved, for command alarms.
    pub command_id: Option<String>,
    /// First reading of the condition.
    pub since_at: DateTime<Utc>,
    /// The reading that completed the condition (or when a command alarm was raised).
    pub raised_at: DateTime<Utc>,
    /// When the service raised it.
    pub detected_at: DateTime<Utc>,
    /// Who acknowledged it.
    pub acknowledged_by: Option<String>,
    /// When.
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// When it was cleared.
    pub cleared_at: Option<DateTime<Utc>>,
    /// Who cleared it (`system` when the condition ended).
    pub cleared_by: Option<String>,
    /// Why, for a clear by hand.
    pub clear_note: Option<String>,
}

impl MeterAlarm {
    /// A new alarm of `kind` on `meter_id`, just raised: `since` is the first reading of its condition,
    /// `raised` the one that completed it, `detected` when the service saw it. Area, bus, evidence and
    /// command are left empty for the caller to fill.
    pub fn raised(
        meter_id: &str,
        kind: AlarmKind,
        detail: String,
        (since, raised, detected): (DateTime<Utc>, DateTime<Utc>, DateTime<Utc>),
    ) -> Self {
        Self {
            id: uuid::Uuid::new_v4().to_string(),
            meter_id: meter_id.to_string(),
            area_id: None,
            bus_id: None,
            kind,
            severity: kind.severity(),
            state: AlarmState::Raised,
            detail,
            evidence: None,
            command_id: None,
            since_at: since,
            raised_at: raised,
            detected_at: detected,
            acknowledged_by: None,
            acknowledged_at: None,
            cleared_at: None,
            cleared_by: None,
            clear_note: None,
        }
    }
}

fn kind_name<S: serde::Serializer>(kind: &AlarmKind, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(kind.name())
}

/// The condition key of a reading rule's alarm: one open alarm per key.
pub fn condition_key(meter_id: &str, kind: AlarmKind) -> String {
    format!("{meter_id}/{}", kind.name())
}

const COLUMNS: &str = "id, meter_id, area_id, bus_id, kind, severity, state, detail, evidence, command_id, \
     since_at, raised_at, detected_at, acknowledged_by, acknowledged_at, cleared_at, cleared_by, clear_note";

fn read(row: &AnyRow) -> Result<MeterAlarm, ControlError> {
    let kind: String = row.try_get("kind")?;
    let severity: String = row.try_get("severity")?;
    let state: String = row.try_get("state")?;
    let evidence: Option<String> = row.try_get("evidence")?;
    Ok(MeterAlarm {
        id: row.try_get("id")?,
        meter_id: row.try_get("meter_id")?,
        area_id: row.try_get("area_id")?,
        bus_id: row.try_get("bus_id")?,
        kind: stored_enum(&kind, "alarm kind", |t| t.parse().ok())?,
        severity: stored_enum(&severity, "alarm severity", |t| t.parse().ok())?,
        state: stored_enum(&state, "alarm state", |t| t.parse().ok())?,
        detail: row.try_get("detail")?,
        evidence: evidence
            .map(|e| serde_json::from_str(&e))
            .transpose()
            .map_err(|e| ControlError::Corrupt(format!("alarm evidence: {e}")))?,
        command_id: row.try_get("command_id")?,
        since_at: instant(row.try_get("since_at")?)?,
        raised_at: instant(row.try_get("raised_at")?)?,
        detected_at: instant(row.try_get("detected_at")?)?,
        acknowledged_by: row.try_get("acknowledged_by")?,
        acknowledged_at: maybe_instant(row.try_get("acknowledged_at")?)?,
        cleared_at: maybe_instant(row.try_get("cleared_at")?)?,
        cleared_by: row.try_get("cleared_by")?,
        clear_note: row.try_get("clear_note")?,
    })
}

/// Inserts an alarm; a reading rule's alarm whose condition already has an open one is not inserted
/// (returns `false`).
pub async fn insert(conn: &mut Conn, alarm: &MeterAlarm) -> Result<bool, ControlError> {
    let key = matches!(alarm.kind, AlarmKind::Reading(_))
        .then(|| condition_key(&alarm.meter_id, alarm.kind));
    let evidence = alarm.evidence.as_ref().map(|e| e.to_string());
    let inserted = sql::execute(
        conn,
        "INSERT INTO meter_alarms (id, meter_id, area_id, bus_id, kind, severity, state, detail, evidence, \
         command_id, condition_key, since_at, raised_at, detected_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT DO NOTHING",
        &[
            alarm.id.as_str().into(),
            alarm.meter_id.as_str().into(),
            Param::MaybeText(alarm.area_id.as_deref()),
            Param::MaybeText(alarm.bus_id.as_deref()),
            alarm.kind.name().into(),
            alarm.severity.name().into(),
            alarm.state.name().into(),
            alarm.detail.as_str().into(),
            Param::MaybeText(evidence.as_deref()),
            Param::MaybeText(alarm.command_id.as_deref()),
            Param::MaybeText(key.as_deref()),
            micros(alarm.since_at).into(),
            micros(alarm.raised_at).into(),
            micros(alarm.detected_at).into(),
        ],
    )
    .await?;
    Ok(inserted == 1)
}

/// One alarm.
pub async fn get(conn: &mut Conn, id: &str) -> Result<Option<MeterAlarm>, ControlError> {
    sql::row(
        conn,
        &format!("SELECT {COLUMNS} FROM meter_alarms WHERE id = $1"),
        &[id.into()],
        read,
    )
    .await
}

/// The open alarm of a reading rule's condition.
pub async fn open_for(
    conn: &mut Conn,
    meter_id: &str,
    kind: AlarmKind,
) -> Result<Option<MeterAlarm>, ControlError> {
    sql::row(
        conn,
        &format!(
            "SELECT {COLUMNS} FROM meter_alarms WHERE condition_key = $1 AND state <> 'cleared'"
        ),
        &[condition_key(meter_id, kind).as_str().into()],
        read,
    )
    .await
}

/// Records an acknowledgement.
pub async fn acknowledge(
    conn: &mut Conn,
    id: &str,
    by: &str,
    at: DateTime<Utc>,
) -> Result<(), ControlError> {
    sql::execute(
        conn,
        "UPDATE meter_alarms SET state = 'acknowledged', acknowledged_by = $2, acknowledged_at = $3 \
         WHERE id = $1 AND state = 'raised'",
        &[id.into(), by.into(), micros(at).into()],
    )
    .await?;
    Ok(())
}

/// Clears an alarm (`note` for a clear by hand); `false` if it was already cleared.
pub async fn clear(
    conn: &mut Conn,
    id: &str,
    by: &str,
    note: Option<&str>,
    at: DateTime<Utc>,
) -> Result<bool, ControlError> {
    let changed = sql::execute(
        conn,
        "UPDATE meter_alarms SET state = 'cleared', cleared_by = $2, clear_note = $3, cleared_at = $4 \
         WHERE id = $1 AND state <> 'cleared'",
        &[id.into(), by.into(), Param::MaybeText(note), micros(at).into()],
    )
    .await?;
    Ok(changed == 1)
}

/// Which alarms to list.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlarmFilter {
    /// Only this state; `open` (not cleared) when absent and `all` is not set.
    pub state: Option<AlarmState>,
    /// Every state.
    #[serde(default)]
    pub all: bool,
    /// Only this kind (`voltage_low`, `command_failed`, …).
    pub kind: Option<String>,
    /// Only this meter.
    pub meter: Option<String>,
    /// Only this area.
    pub area: Option<String>,
    /// Only this severity.
    pub severity: Option<String>,
    /// Raised at or after.
    pub since: Option<DateTime<Utc>>,
    /// Raised before.
    pub until: Option<DateTime<Utc>>,
    /// At most this many (1..=1000, default 100).
    pub limit: Option<i64>,
}

/// Alarms matching `filter`, newest first.
pub async fn list(conn: &mut Conn, filter: &AlarmFilter) -> Result<Vec<MeterAlarm>, ControlError> {
    let mut clauses: Vec<String> = Vec::new();
    let mut params: Vec<Param<'_>> = Vec::new();
    match (filter.state, filter.all) {
        (Some(state), _) => {
            params.push(Param::Text(state.name()));
            clauses.push(format!("state = ${}", params.len()));
        }
        (None, false) => clauses.push("state <> 'cleared'".into()),
        (None, true) => {}
    }
    let instants = [
        ("raised_at >= ", filter.since),
        ("raised_at < ", filter.until),
    ];
    for (condition, at) in instants {
        if let Some(at) = at {
            params.push(Param::Int(micros(at)));
            clauses.push(format!("{condition}${}", params.len()));
        }
    }
    let texts = [
        ("kind = ", filter.kind.as_deref()),
        ("meter_id = ", filter.meter.as_deref()),
        ("area_id = ", filter.area.as_deref()),
        ("severity = ", filter.severity.as_deref()),
    ];
    for (condition, value) in texts {
        if let Some(value) = value {
            params.push(Param::Text(value));
            clauses.push(format!("{condition}${}", params.len()));
        }
    }
    params.push(Param::Int(filter.limit.unwrap_or(100).clamp(1, 1000)));
    let limit = params.len();
    let filter = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    sql::rows(
        conn,
        &format!(
            "SELECT {COLUMNS} FROM meter_alarms {filter} ORDER BY raised_at DESC, id LIMIT ${limit}"
        ),
        &params,
        read,
    )
    .await
}

/// Every alarm raised in [`from`, `to`), oldest first (for the lake export: no limit).
pub async fn raised_between(
    conn: &mut Conn,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<MeterAlarm>, ControlError> {
    sql::rows(
        conn,
        &format!(
            "SELECT {COLUMNS} FROM meter_alarms WHERE raised_at >= $1 AND raised_at < $2 \
             ORDER BY raised_at, id"
        ),
        &[micros(from).into(), micros(to).into()],
        read,
    )
    .await
}

/// Every open reading-rule condition: (meter, kind).
pub async fn open_conditions(conn: &mut Conn) -> Result<Vec<(String, AlarmKind)>, ControlError> {
    sql::rows(
        conn,
        "SELECT meter_id, kind FROM meter_alarms WHERE condition_key IS NOT NULL AND state <> 'cleared'",
        &[],
        |row| {
            let kind: String = row.try_get("kind")?;
            Ok((
                row.try_get("meter_id")?,
                stored_enum(&kind, "alarm kind", |t| t.parse().ok())?,
            ))
        },
    )
    .await
}

/// Open alarms by severity.
pub async fn open_counts(conn: &mut Conn) -> Result<Vec<(String, i64)>, ControlError> {
    sql::rows(
        conn,
        "SELECT severity, COUNT(*) AS n FROM meter_alarms WHERE state <> 'cleared' GROUP BY severity",
        &[],
        |row| Ok((row.try_get("severity")?, row.try_get("n")?)),
    )
    .await
}
