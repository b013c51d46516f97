//! Feedback tickets as pages: the customer's list, new-ticket form and threads under
//! `/my/{meter}/tickets`, and the staff's queue and threads under `/tickets`, where a reply notifies
//! the customer. Everything a person wrote is shown as text (escaped by the templates).

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::customer::customer_nav;
use super::form::{finish, FormFields};
use super::labels::Label;
use super::{failed, render, Frame};
use crate::app::tickets::{TicketOpening, TicketThread};
use crate::domain::ticket::{TicketCategory, TicketChannel, TicketStatus};
use crate::http::auth::Caller;
use crate::http::HttpState;
use crate::store::tickets::Ticket;
use crate::ControlError;

/// A ticket in a list.
struct TicketRow {
    id: String,
    meter_id: String,
    subject: String,
    category: &'static str,
    channel: &'static str,
    status: &'static str,
    status_code: &'static str,
    updated: String,
}

fn rows(frame: &Frame, tickets: &[Ticket]) -> Vec<TicketRow> {
    tickets
        .iter()
        .map(|t| TicketRow {
            id: t.id.clone(),
            meter_id: t.meter_id.clone(),
            subject: t.subject.clone(),
            category: t.category.label(frame.lang),
            channel: t.channel.label(frame.lang),
            status: t.status.label(frame.lang),
            status_code: t.status.as_str(),
            updated: frame.at(t.updated_at),
        })
        .collect()
}

/// One message of a thread.
struct MessageRow {
    author: String,
    from_staff: bool,
    at: String,
    body: String,
}

/// A category choice.
struct Choice {
    value: &'static str,
    label: &'static str,
}

/// `?done=` after a form.
#[derive(Debug, Default, serde::Deserialize)]
pub struct DoneQuery {
    #[serde(default)]
    done: String,
}

/// The customer's ticket list and new-ticket form.
#[derive(Template)]
#[template(path = "my_tickets.html")]
struct MyTicketsPage {
    frame: Frame,
    meter_id: String,
    tickets: Vec<TicketRow>,
    categories: Vec<Choice>,
    sent: bool,
}

/// One thread, for the customer (`staff` false) or staff.
#[derive(Template)]
#[template(path = "ticket.html")]
struct ThreadPage {
    frame: Frame,
    staff: bool,
    ticket: TicketRow,
    messages: Vec<MessageRow>,
    /// Where the reply form posts.
    action: String,
    closed: bool,
    replied: bool,
}

/// The staff's queue.
#[derive(Template)]
#[template(path = "tickets.html")]
struct QueuePage {
    frame: Frame,
    tickets: Vec<TicketRow>,
    all: bool,
    /// The category shown (`""`: every one).
    category: &'static str,
    categories: Vec<Choice>,
    /// Channels staff take tickets down by.
    channels: Vec<Choice>,
    /// Per category: its name, open, answered and closed tickets.
    counts: Vec<(&'static str, i64, i64, i64)>,
    /// The names of open, answered and closed.
    status_names: [&'static str; 3],
    taken: bool,
}

fn thread_page(
    frame: Frame,
    staff: bool,
    thread: TicketThread,
    action: String,
    replied: bool,
) -> ThreadPage {
    let messages = thread
        .messages
        .iter()
        .map(|m| MessageRow {
            author: m.author.clone(),
            from_staff: m.from_staff,
            at: frame.at(m.at),
            body: m.body.clone(),
        })
        .collect();
    let closed = thread.ticket.status == TicketStatus::Closed;
    let ticket = rows(&frame, std::slice::from_ref(&thread.ticket)).remove(0);
    ThreadPage {
        frame,
        staff,
        ticket,
        messages,
        action,
        closed,
        replied,
    }
}

/// A ticket form's category, subject and message for `meter`.
fn opening<'a>(form: &'a FormFields, meter: &'a str) -> Result<TicketOpening<'a>, ControlError> {
    let name = form.required("category", "the category")?;
    let category = TicketCategory::parse(name)
        .ok_or_else(|| ControlError::Invalid(format!("no category {name:?}")))?;
    Ok(TicketOpening {
        meter_id: meter,
        category,
        subject: form.text("subject"),
        body: form.text("message"),
    })
}

/// `GET /my/{meter}/tickets`.
pub async fn mine(
    State(s): State<HttpState>,
    caller: Caller,
    headers: HeaderMap,
    Path(meter): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Response {
    let path = format!("/my/{meter}/tickets");
    let mut frame = Frame::new(&s, &caller, &headers, &path);
    customer_nav(&mut frame, &meter);
    match s.control.tickets_of(&meter).await {
        Ok(tickets) => {
            let categories = category_choices(&frame);
            let page = MyTicketsPage {
                tickets: rows(&frame, &tickets),
                frame,
                meter_id: meter,
                categories,
                sent: q.done == "sent",
            };
            render(StatusCode::OK, &page)
        }
        Err(err) => failed(&headers, err, "/my"),
    }
}

/// `POST /my/{meter}/tickets`: `category`, `subject`, `message`.
pub async fn open(
    State(s): State<HttpState>,
    caller: Caller,
    headers: HeaderMap,
    Path(meter): Path<String>,
    body: Bytes,
) -> Response {
    let back = format!("/my/{meter}/tickets");
    let form = FormFields::parse(&body);
    let opened = async {
        s.control
            .open_ticket(opening(&form, &meter)?, &caller.actor())
            .await
    };
    finish(opened.await, &headers, &back, "sent")
}

/// `GET /my/{meter}/tickets/{id}`.
pub async fn my_thread(
    State(s): State<HttpState>,
    caller: Caller,
    headers: HeaderMap,
    Path((meter, id)): Path<(String, String)>,
    Query(q): Query<DoneQuery>,
) -> Response {
    let path = format!("/my/{meter}/tickets/{id}");
    let mut frame = Frame::new(&s, &caller, &headers, &path);
    customer_nav(&mut frame, &meter);
    match s.control.ticket(&id, Some(&meter)).await {
        Ok(thread) => render(
            StatusCode::OK,
            &thread_page(frame, false, thread, path, q.done == "replied"),
        ),
        Err(err) => failed(&headers, err, &format!("/my/{meter}/tickets")),
    }
}

/// `POST /my/{meter}/tickets/{id}`: the customer writes again (`message`).
pub async fn my_reply(
    State(s): State<HttpState>,
    caller: Caller,
    headers: HeaderMap,
    Path((meter, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let back = format!("/my/{meter}/tickets/{id}");
    let form = FormFields::parse(&body);
    finish(
        s.control
            .reply_ticket(
                &id,
                Some(&meter),
                form.text("message"),
                false,
                false,
                &caller.actor(),
            )
            .await,
        &headers,
        &back,
        "replied",
    )
}

/// Every category as a choice, named in the page's language.
fn category_choices(frame: &Frame) -> Vec<Choice> {
    TicketCategory::ALL
        .iter()
        .map(|c| Choice {
            value: c.as_str(),
            label: c.label(frame.lang),
        })
        .collect()
}

/// Open, answered and closed tickets per category.
fn count_rows(
    frame: &Frame,
    counts: &[(TicketCategory, TicketStatus, i64)],
) -> Vec<(&'static str, i64, i64, i64)> {
    TicketCategory::ALL
        .iter()
        .map(|category| {
            let n = |status: TicketStatus| {
                counts
                    .iter()
                    .filter(|(c, s, _)| c == category && *s == status)
                    .map(|(_, _, n)| *n)
                    .sum()
            };
            (
                category.label(frame.lang),
                n(TicketStatus::Open),
                n(TicketStatus::Answered),
                n(TicketStatus::Closed),
            )
        })
        .collect()
}

/// `GET /tickets?show=all&category=`: the staff's queue (open tickets, the longest waiting first),
/// the counts per category, and the form for a ticket taken down from the hotline or the counter.
pub async fn queue(
    State(s): State<HttpState>,
    caller: Caller,
    headers: HeaderMap,
    Query(q): Query<QueueQuery>,
) -> Response {
    let frame = Frame::new(&s, &caller, &headers, "/tickets");
    let all = q.show == "all";
    let status = (!all).then_some(TicketStatus::Open);
    let category = TicketCategory::parse(&q.category);
    let listed = async {
        let tickets = s.control.tickets(status, category).await?;
        let counts = s.control.ticket_counts().await?;
        Ok::<_, ControlError>((tickets, counts))
    };
    match listed.await {
        Ok((tickets, counts)) => {
            let channels = TicketChannel::ALL
                .iter()
                .filter(|c| c.taken_by_staff())
                .map(|c| Choice {
                    value: c.as_str(),
                    label: c.label(frame.lang),
                })
                .collect();
            let page = QueuePage {
                tickets: rows(&frame, &tickets),
                all,
                category: category.map_or("", TicketCategory::as_str),
                categories: category_choices(&frame),
                channels,
                counts: count_rows(&frame, &counts),
                status_names: [
                    TicketStatus::Open.label(frame.lang),
                    TicketStatus::Answered.label(frame.lang),
                    TicketStatus::Closed.label(frame.lang),
                ],
                taken: q.done == "taken",
                frame,
            };
            render(StatusCode::OK, &page)
        }
        Err(err) => failed(&headers, err, "/"),
    }
}

/// `?show=all&category=&done=` of the queue.
#[derive(Debug, Default, serde::Deserialize)]
pub struct QueueQuery {
    #[serde(default)]
    show: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    done: String,
}

/// `POST /tickets`: `meter`, `category`, `channel` (hotline or counter), `subject`, `message` — a
/// ticket taken down for a caller or a visitor.
pub async fn take_down(
    State(s): State<HttpState>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = FormFields::parse(&body);
    let taken = async {
        let channel = form.required("channel", "the channel")?;
        let channel = TicketChannel::parse(channel)
            .ok_or_else(|| ControlError::Invalid(format!("no channel {channel:?}")))?;
        s.control
            .take_down_ticket(
                opening(&form, form.text("meter"))?,
                channel,
                &caller.actor(),
            )
            .await
    };
    finish(taken.await, &headers, "/tickets", "taken")
}

/// `GET /tickets/{id}`.
pub async fn staff_thread(
    State(s): State<HttpState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Response {
    let path = format!("/tickets/{id}");
    let frame = Frame::new(&s, &caller, &headers, &path);
    match s.control.ticket(&id, None).await {
        Ok(thread) => render(
            StatusCode::OK,
            &thread_page(
                frame,
                true,
                thread,
                format!("{path}/reply"),
                q.done == "replied",
            ),
        ),
        Err(err) => failed(&headers, err, "/tickets"),
    }
}

/// `POST /tickets/{id}/reply`: `message`, and `close=on` to close the ticket with it.
pub async fn staff_reply(
    State(s): State<HttpState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let back = format!("/tickets/{id}");
    let form = FormFields::parse(&body);
    let close = form.text("close") == "on";
    finish(
        s.control
            .reply_ticket(
                &id,
                None,
                form.text("message"),
                close,
                true,
                &caller.actor(),
            )
            .await,
        &headers,
        &back,
        "replied",
    )
}
