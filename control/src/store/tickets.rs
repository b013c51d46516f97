//! `tickets` and `ticket_messages` (migration 0009): customers' feedback and the replies.

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::sql::{self, Param};
use super::{instant, micros, stored_enum, Conn};
use crate::domain::ticket::{TicketCategory, TicketChannel, TicketStatus};
use crate::ControlError;

/// A ticket.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Ticket {
    /// Id.
    pub id: String,
    /// The account it is about.
    pub meter_id: String,
    /// What about.
    pub category: TicketCategory,
    /// How it came in.
    pub channel: TicketChannel,
    /// Subject line.
    pub subject: String,
    /// Where it stands.
    pub status: TicketStatus,
    /// Who opened it.
    pub created_by: String,
    /// Opened.
    pub created_at: DateTime<Utc>,
    /// Last message or status change.
    pub updated_at: DateTime<Utc>,
}

/// One message of a ticket.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TicketMessage {
    /// Id.
    pub id: String,
    /// The ticket.
    pub ticket_id: String,
    /// Who wrote it.
    pub author: String,
    /// Written by staff (else by the customer).
    pub from_staff: bool,
    /// Text.
    pub body: String,
    /// When.
    pub at: DateTime<Utc>,
}

const COLUMNS: &str =
    "id, meter_id, category, subject, status, created_by, created_at, updated_at, channel";

fn from_row(row: &AnyRow) -> Result<Ticket, ControlError> {
    Ok(Ticket {
        id: row.try_get("id")?,
        meter_id: row.try_get("meter_id")?,
        category: stored_enum(
            &row.try_get::<String, _>("category")?,
            "ticket category",
            TicketCategory::parse,
        )?,
        subject: row.try_get("subject")?,
        status: stored_enum(
            &row.try_get::<String, _>("status")?,
            "ticket status",
            TicketStatus::parse,
        )?,
        created_by: row.try_get("created_by")?,
        created_at: instant(row.try_get("created_at")?)?,
        updated_at: instant(row.try_get("updated_at")?)?,
        channel: stored_enum(
            &row.try_get::<String, _>("channel")?,
            "ticket channel",
            TicketChannel::parse,
        )?,
    })
}

/// Opens a ticket.
pub async fn insert(conn: &mut Conn, t: &Ticket) -> Result<(), ControlError> {
    let statement =
        format!("INSERT INTO tickets ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)");
    let params: [Param; 9] = [
        (&t.id).into(),
        (&t.meter_id).into(),
        t.category.as_str().into(),
        (&t.subject).into(),
        t.status.as_str().into(),
        (&t.created_by).into(),
        micros(t.created_at).into(),
        micros(t.updated_at).into(),
        t.channel.as_str().into(),
    ];
    sql::execute(conn, &statement, &params).await?;
    Ok(())
}

/// Sets a ticket's status and last change.
pub async fn set_status(
    conn: &mut Conn,
    id: &str,
    status: TicketStatus,
    at: DateTime<Utc>,
) -> Result<(), ControlError> {
    sql::execute(
        conn,
        "UPDATE tickets SET status = $1, updated_at = $2 WHERE id = $3",
        &[status.as_str().into(), micros(at).into(), id.into()],
    )
    .await?;
    Ok(())
}

/// One ticket.
pub async fn get(conn: &mut Conn, id: &str) -> Result<Option<Ticket>, ControlError> {
    let statement = format!("SELECT {COLUMNS} FROM tickets WHERE id = $1");
    sql::row(conn, &statement, &[id.into()], from_row).await
}

/// A meter's tickets, newest first.
pub async fn for_meter(conn: &mut Conn, meter_id: &str) -> Result<Vec<Ticket>, ControlError> {
    let statement = format!(
        "SELECT {COLUMNS} FROM tickets WHERE meter_id = $1 ORDER BY created_at DESC, id LIMIT 200"
    );
    sql::rows(conn, &statement, &[meter_id.into()], from_row).await
}

/// Tickets in `status` and of `category` (every one when `None`): open ones the longest waiting first,
/// all of them the newest change first; at most `limit`.
pub async fn queue(
    conn: &mut Conn,
    status: Option<TicketStatus>,
    category: Option<TicketCategory>,
    limit: i64,
) -> Result<Vec<Ticket>, ControlError> {
    let mut filters = Vec::new();
    let mut params: Vec<Param> = Vec::new();
    if let Some(status) = status {
        params.push(status.as_str().into());
        filters.push(format!("status = ${}", params.len()));
    }
    if let Some(category) = category {
        params.push(category.as_str().into());
        filters.push(format!("category = ${}", params.len()));
    }
    params.push(limit.into());
    let filter = if filters.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", filters.join(" AND "))
    };
    let order = if status.is_some() {
        "updated_at, id"
    } else {
        "updated_at DESC, id"
    };
    let statement = format!(
        "SELECT {COLUMNS} FROM tickets {filter} ORDER BY {order} LIMIT ${}",
        params.len()
    );
    sql::rows(conn, &statement, &params, from_row).await
}

/// How many tickets each category has in each status.
pub async fn counts(
    conn: &mut Conn,
) -> Result<Vec<(TicketCategory, TicketStatus, i64)>, ControlError> {
    sql::rows(
        conn,
        "SELECT category, status, COUNT(*) AS n FROM tickets GROUP BY category, status \
         ORDER BY category, status",
        &[],
        |row| {
            Ok((
                stored_enum(
                    &row.try_get::<String, _>("category")?,
                    "ticket category",
                    TicketCategory::parse,
                )?,
                stored_enum(
                    &row.try_get::<String, _>("status")?,
                    "ticket status",
                    TicketStatus::parse,
                )?,
                row.try_get("n")?,
            ))
        },
    )
    .await
}

/// Adds a message.
pub async fn insert_message(conn: &mut Conn, m: &TicketMessage) -> Result<(), ControlError> {
    sql::execute(
        conn,
        "INSERT INTO ticket_messages (id, ticket_id, author, from_staff, body, at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            (&m.id).into(),
            (&m.ticket_id).into(),
            (&m.author).into(),
            i64::from(m.from_staff).into(),
            (&m.body).into(),
            micros(m.at).into(),
        ],
    )
    .await?;
    Ok(())
}

/// A ticket's messages in order.
pub async fn messages(
    conn: &mut Conn,
    ticket_id: &str,
) -> Result<Vec<TicketMessage>, ControlError> {
    sql::rows(
        conn,
        "SELECT id, ticket_id, author, from_staff, body, at FROM ticket_messages \
         WHERE ticket_id = $1 ORDER BY at, id",
        &[ticket_id.into()],
        |row| {
            Ok(TicketMessage {
                id: row.try_get("id")?,
                ticket_id: row.try_get("ticket_id")?,
                author: row.try_get("author")?,
                from_staff: row.try_get::<i64, _>("from_staff")? != 0,
                body: row.try_get("body")?,
                at: instant(row.try_get("at")?)?,
            })
        },
    )
    .await
}
