//! The endpoint's limits around DataFusion's session service: every statement has a deadline that covers
//! planning *and* the rows it streams (SQLSTATE 57014 when it passes, and the query stops), and a query
//! that runs out of the memory pool ends with SQLSTATE 53200 instead of taking the process down.

use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use datafusion::error::DataFusionError;
use datafusion_postgres::pgwire::api::portal::Portal;
use datafusion_postgres::pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler};
use datafusion_postgres::pgwire::api::results::{Response, SendableRowStream};
use datafusion_postgres::pgwire::api::store::PortalStore;
use datafusion_postgres::pgwire::api::{ClientInfo, ClientPortalStore};
use datafusion_postgres::pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use datafusion_postgres::pgwire::messages::PgWireBackendMessage;
use datafusion_postgres::DfSessionService;
use futures::{Sink, StreamExt};
use tokio::time::Instant;

/// DataFusion's session service with a statement deadline.
pub struct Guarded {
    inner: Arc<DfSessionService>,
    timeout: Duration,
}

impl Guarded {
    /// Wraps `inner` so each statement ends after `timeout`.
    pub fn new(inner: DfSessionService, timeout: Duration) -> Self {
        Self {
            inner: Arc::new(inner),
            timeout,
        }
    }
}

/// SQLSTATE 57014, as PostgreSQL words a statement timeout.
fn timed_out(limit: Duration) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "ERROR".to_string(),
        "57014".to_string(),
        format!(
            "canceling statement due to statement timeout ({} s)",
            limit.as_secs_f64()
        ),
    )))
}

/// An error out of DataFusion's row stream; a memory limit becomes SQLSTATE 53200.
fn classify(err: PgWireError) -> PgWireError {
    if let PgWireError::ApiError(inner) = &err {
        if let Some(df) = inner.downcast_ref::<DataFusionError>() {
            if let DataFusionError::ResourcesExhausted(reason) = df.find_root() {
                return PgWireError::UserError(Box::new(ErrorInfo::new(
                    "ERROR".to_string(),
                    "53200".to_string(),
                    format!("out of memory: the query needs more than the server's memory limit ({reason})"),
                )));
            }
        }
    }
    err
}

/// `rows` until `deadline`; then one timeout error and the end (dropping `rows` stops the query).
fn bounded(rows: SendableRowStream, deadline: Instant, limit: Duration) -> SendableRowStream {
    Box::pin(futures::stream::unfold(
        Some(rows),
        move |state| async move {
            let mut rows = state?;
            tokio::select! {
                row = rows.next() => match row {
                    Some(Ok(row)) => Some((Ok(row), Some(rows))),
                    Some(Err(err)) => Some((Err(classify(err)), None)),
                    None => None,
                },
                _ = tokio::time::sleep_until(deadline) => Some((Err(timed_out(limit)), None)),
            }
        },
    ))
}

/// A response whose rows stop at `deadline`.
fn bound(response: Response, deadline: Instant, limit: Duration) -> Response {
    match response {
        Response::Query(mut query) => {
            let rows = std::mem::replace(&mut query.data_rows, Box::pin(futures::stream::empty()));
            query.data_rows = bounded(rows, deadline, limit);
            Response::Query(query)
        }
        other => other,
    }
}

#[async_trait]
impl SimpleQueryHandler for Guarded {
    async fn do_query<C>(&self, client: &mut C, query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let deadline = Instant::now() + self.timeout;
        let planned = tokio::time::timeout_at(
            deadline,
            SimpleQueryHandler::do_query(self.inner.as_ref(), client, query),
        )
        .await
        .map_err(|_| timed_out(self.timeout))?
        .map_err(classify)?;
        Ok(planned
            .into_iter()
            .map(|response| bound(response, deadline, self.timeout))
            .collect())
    }
}

#[async_trait]
impl ExtendedQueryHandler for Guarded {
    type Statement = <DfSessionService as ExtendedQueryHandler>::Statement;
    type QueryParser = <DfSessionService as ExtendedQueryHandler>::QueryParser;

    fn query_parser(&self) -> Arc<Self::QueryParser> {
        self.inner.query_parser()
    }

    async fn do_query<C>(
        &self,
        client: &mut C,
        portal: &Portal<Self::Statement>,
        max_rows: usize,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let deadline = Instant::now() + self.timeout;
        let response = tokio::time::timeout_at(
            deadline,
            ExtendedQueryHandler::do_query(self.inner.as_ref(), client, portal, max_rows),
        )
        .await
        .map_err(|_| timed_out(self.timeout))?
        .map_err(classify)?;
        Ok(bound(response, deadline, self.timeout))
    }
}
