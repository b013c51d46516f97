//! Feedback tickets: a customer opens one about their account (or staff take one down for a caller to
//! the hotline or a visitor at the counter), staff reply (the customer is notified) and close it, the
//! customer may write again until it is closed. Every step is audited.

use serde_json::json;

use super::audit::Actor;
use super::Control;
use crate::domain::audit::{AuditAction, Outcome};
use crate::domain::notice::{NoticeFacts, NoticeKind};
use crate::domain::ticket::{
    check_text, TicketCategory, TicketChannel, TicketStatus, MAX_MESSAGE, MAX_SUBJECT,
};
use crate::store::accounts;
use crate::store::tickets::{self, Ticket, TicketMessage};
use crate::ControlError;

/// A ticket with its messages.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TicketThread {
    /// The ticket.
    pub ticket: Ticket,
    /// Its messages in order.
    pub messages: Vec<TicketMessage>,
}

/// What a new ticket says: the account, what about, the subject and the first message.
#[derive(Debug, Clone, Copy)]
pub struct TicketOpening<'a> {
    /// The account's meter.
    pub meter_id: &'a str,
    /// What about.
    pub category: TicketCategory,
    /// Subject line.
    pub subject: &'a str,
    /// The first message.
    pub body: &'a str,
}

impl Control {
    /// Opens a ticket with its first message, written by the account's customer online.
    pub async fn open_ticket(
        &self,
        opening: TicketOpening<'_>,
        actor: &Actor,
    ) -> Result<Ticket, ControlError> {
        self.open_ticket_via(opening, TicketChannel::Online, actor)
            .await
    }

    /// Opens a ticket that staff (`actor`) take down for a customer who called the hotline or came to
    /// the counter (`channel`), the customer's words as its first message.
    pub async fn take_down_ticket(
        &self,
        opening: TicketOpening<'_>,
        channel: TicketChannel,
        actor: &Actor,
    ) -> Result<Ticket, ControlError> {
        if !channel.taken_by_staff() {
            return Err(ControlError::Invalid(format!(
                "staff take tickets down from the hotline or the counter, not {:?}",
                channel.as_str()
            )));
        }
        self.open_ticket_via(opening, channel, actor).await
    }

    async fn open_ticket_via(
        &self,
        opening: TicketOpening<'_>,
        channel: TicketChannel,
        actor: &Actor,
    ) -> Result<Ticket, ControlError> {
        let TicketOpening {
            meter_id,
            category,
            subject,
            body,
        } = opening;
        check_text("the subject", subject, MAX_SUBJECT).map_err(ControlError::Invalid)?;
        check_text("the message", body, MAX_MESSAGE).map_err(ControlError::Invalid)?;
        let now = self.now();
        let mut tx = self.db.begin().await?;
        accounts::lock(&mut tx, meter_id, now).await?;
        let ticket = Ticket {
            id: uuid::Uuid::new_v4().to_string(),
            meter_id: meter_id.to_string(),
            category,
            channel,
            subject: subject.trim().to_string(),
            status: TicketStatus::Open,
            created_by: actor.name.clone(),
            created_at: now,
            updated_at: now,
        };
        tickets::insert(&mut tx, &ticket).await?;
        let message = TicketMessage {
            id: uuid::Uuid::new_v4().to_string(),
            ticket_id: ticket.id.clone(),
            author: actor.name.clone(),
            from_staff: false,
            body: body.trim().to_string(),
            at: now,
        };
        tickets::insert_message(&mut tx, &message).await?;
        self.audit(
            &mut tx,
            actor,
            AuditAction::TicketOpened,
            &format!("ticket:{}", ticket.id),
            None,
            Some(json!({
                "meter": meter_id,
                "category": category.as_str(),
                "channel": channel.as_str(),
            })),
            Outcome::Ok,
        )
        .await?;
        tx.commit().await?;
        Ok(ticket)
    }

    /// A ticket with its messages; `meter_id`, when given, must be the ticket's (a customer's view).
    pub async fn ticket(
        &self,
        id: &str,
        meter_id: Option<&str>,
    ) -> Result<TicketThread, ControlError> {
        let mut conn = self.db.conn().await?;
        let ticket = tickets::get(&mut conn, id)
            .await?
            .filter(|t| meter_id.is_none_or(|m| m == t.meter_id))
            .ok_or_else(|| ControlError::NotFound(format!("no ticket {id}")))?;
        let messages = tickets::messages(&mut conn, id).await?;
        Ok(TicketThread { ticket, messages })
    }

    /// A meter's tickets, newest first.
    pub async fn tickets_of(&self, meter_id: &str) -> Result<Vec<Ticket>, ControlError> {
        tickets::for_meter(&mut *self.db.conn().await?, meter_id).await
    }

    /// Tickets in `status` and of `category` (all when `None`) for staff: open ones the longest
    /// waiting first, all of them the newest change first; at most 500.
    pub async fn tickets(
        &self,
        status: Option<TicketStatus>,
        category: Option<TicketCategory>,
    ) -> Result<Vec<Ticket>, ControlError> {
        tickets::queue(&mut *self.db.conn().await?, status, category, 500).await
    }

    /// How many tickets each category has in each status.
    pub async fn ticket_counts(
        &self,
    ) -> Result<Vec<(TicketCategory, TicketStatus, i64)>, ControlError> {
        tickets::counts(&mut *self.db.conn().await?).await
    }

    /// Adds a message to a ticket: from staff it answers (or closes, with `close`) and the customer
    /// is notified; from the customer it reopens. `meter_id` restricts a customer to their tickets.
    pub async fn reply_ticket(
        &self,
        id: &str,
        meter_id: Option<&str>,
        body: &str,
        close: bool,
        from_staff: bool,
        actor: &Actor,
    ) -> Result<Ticket, ControlError> {
        check_text("the message", body, MAX_MESSAGE).map_err(ControlError::Invalid)?;
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let mut ticket = tickets::get(&mut tx, id)
            .await?
            .filter(|t| meter_id.is_none_or(|m| m == t.meter_id))
            .ok_or_else(|| ControlError::NotFound(format!("no ticket {id}")))?;
        accounts::lock(&mut tx, &ticket.meter_id, now).await?;
        let before = ticket.status;
        ticket.status = before
            .after_message(from_staff, close)
            .map_err(ControlError::Conflict)?;
        ticket.updated_at = now;
        tickets::set_status(&mut tx, id, ticket.status, now).await?;
        let message = TicketMessage {
            id: uuid::Uuid::new_v4().to_string(),
            ticket_id: id.to_string(),
            author: actor.name.clone(),
            from_staff,
            body: body.trim().to_string(),
            at: now,
        };
        tickets::insert_message(&mut tx, &message).await?;
        if from_staff {
            let facts = NoticeFacts {
                subject: Some(ticket.subject.clone()),
                detail: Some(message.body.clone()),
                ..NoticeFacts::about(&ticket.meter_id)
            };
            self.notice(&mut tx, NoticeKind::TicketReplied, facts, now)
                .await?;
        }
        self.audit(
            &mut tx,
            actor,
            AuditAction::TicketReplied,
            &format!("ticket:{id}"),
            Some(json!({"status": before.as_str()})),
            Some(json!({"status": ticket.status.as_str(), "from_staff": from_staff})),
            Outcome::Ok,
        )
        .await?;
        tx.commit().await?;
        Ok(ticket)
    }
}
