//! The endpoint is read-only: a query hook that runs before every other and admits only queries
//! (`SELECT`, `WITH`, `EXPLAIN` of one), `SHOW`, transaction brackets and a few harmless session
//! settings. Everything else — DDL, DML, `COPY`, `CREATE EXTERNAL TABLE`, `SELECT … INTO`, `SET` of
//! the server's limits or of DataFusion options, `RESET` — is refused with SQLSTATE 42501. A query's
//! plan is checked as well, so nothing that plans into DDL, DML or a statement slips through.

use async_trait::async_trait;
use datafusion::common::ParamValues;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::{SQLOptions, SessionContext};
use datafusion::sql::sqlparser::ast::{Set, Statement};
use datafusion_postgres::hooks::HookClient;
use datafusion_postgres::pgwire::api::results::Response;
use datafusion_postgres::pgwire::api::ClientInfo;
use datafusion_postgres::pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use datafusion_postgres::QueryHook;

/// Session settings a client may change: presentation only, none of them a limit.
const HARMLESS_SETTINGS: [&str; 9] = [
    "application_name",
    "client_encoding",
    "client_min_messages",
    "datestyle",
    "extra_float_digits",
    "intervalstyle",
    "bytea_output",
    "search_path",
    "timezone",
];

/// The read-only hook.
#[derive(Debug, Default, Clone, Copy)]
pub struct ReadOnly;

/// What the hook decides about a statement.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// A query: plan and check it.
    Query,
    /// Let the built-in hooks answer it (`SHOW`, `BEGIN`, a harmless `SET`).
    PassOn,
    /// Refused, with the reason.
    Refused(String),
}

/// SQLSTATE 42501 (insufficient privilege) with `reason`.
pub fn refused(reason: &str) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "ERROR".to_string(),
        "42501".to_string(),
        format!("meterlake's SQL endpoint is read-only: {reason}"),
    )))
}

/// The verdict on `statement`.
pub fn judge(statement: &Statement) -> Verdict {
    match statement {
        Statement::Query(_) => Verdict::Query,
        Statement::Explain { statement, .. } => match judge(statement) {
            Verdict::Query => Verdict::Query,
            Verdict::PassOn => Verdict::Refused("EXPLAIN of a non-query".into()),
            refused => refused,
        },
        Statement::ShowVariable { .. }
        | Statement::StartTransaction { .. }
        | Statement::Commit { .. }
        | Statement::Rollback { .. } => Verdict::PassOn,
        Statement::Set(Set::SetTimeZone { .. }) => Verdict::PassOn,
        Statement::Set(Set::SingleAssignment { variable, .. }) => {
            let name = variable.to_string().to_ascii_lowercase();
            if HARMLESS_SETTINGS.contains(&name.as_str()) {
                Verdict::PassOn
            } else {
                Verdict::Refused(format!(
                    "SET {name} is not allowed (the server fixes its limits; only {} may be set)",
                    HARMLESS_SETTINGS.join(", ")
                ))
            }
        }
        other => {
            let text = other.to_string();
            let kind: String = text
                .split_whitespace()
                .take(2)
                .collect::<Vec<_>>()
                .join(" ");
            Verdict::Refused(format!("{kind} … is not allowed"))
        }
    }
}

/// Plans a query and checks that the plan reads only.
async fn plan_query(statement: &Statement, ctx: &SessionContext) -> PgWireResult<LogicalPlan> {
    let plan = ctx
        .state()
        .statement_to_plan(datafusion::sql::parser::Statement::Statement(Box::new(
            statement.clone(),
        )))
        .await
        .map_err(|e| PgWireError::ApiError(Box::new(e)))?;
    SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false)
        .verify_plan(&plan)
        .map_err(|e| refused(&e.strip_backtrace()))?;
    Ok(plan)
}

#[async_trait]
impl QueryHook for ReadOnly {
    async fn handle_simple_query(
        &self,
        statement: &Statement,
        ctx: &SessionContext,
        _client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        match judge(statement) {
            Verdict::Query => plan_query(statement, ctx).await.err().map(Err),
            Verdict::PassOn => None,
            Verdict::Refused(reason) => Some(Err(refused(&reason))),
        }
    }

    async fn handle_extended_parse_query(
        &self,
        statement: &Statement,
        ctx: &SessionContext,
        _client: &(dyn ClientInfo + Send + Sync),
    ) -> Option<PgWireResult<LogicalPlan>> {
        match judge(statement) {
            Verdict::Query => Some(plan_query(statement, ctx).await),
            Verdict::PassOn => None,
            Verdict::Refused(reason) => Some(Err(refused(&reason))),
        }
    }

    async fn handle_extended_query(
        &self,
        statement: &Statement,
        _plan: &LogicalPlan,
        _params: &ParamValues,
        _ctx: &SessionContext,
        _client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        match judge(statement) {
            Verdict::Refused(reason) => Some(Err(refused(&reason))),
            Verdict::Query | Verdict::PassOn => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
    use datafusion::sql::sqlparser::parser::Parser;

    fn verdict(sql: &str) -> Verdict {
        let statements = Parser::parse_sql(&PostgreSqlDialect {}, sql).unwrap();
        judge(&statements[0])
    }

    #[test]
    fn only_queries_show_transactions_and_harmless_settings_pass() {
        assert_eq!(verdict("SELECT 1"), Verdict::Query);
        assert_eq!(
            verdict("WITH a AS (SELECT 1) SELECT * FROM a"),
            Verdict::Query
        );
        assert_eq!(verdict("EXPLAIN SELECT 1"), Verdict::Query);
        assert_eq!(verdict("SHOW search_path"), Verdict::PassOn);
        assert_eq!(verdict("BEGIN"), Verdict::PassOn);
        assert_eq!(verdict("SET application_name = 'psql'"), Verdict::PassOn);
        for sql in [
            "CREATE TABLE t (a INT)",
            "DROP TABLE readings",
            "INSERT INTO t VALUES (1)",
            "DELETE FROM readings",
            "COPY readings TO '/tmp/x.csv'",
            "SET statement_timeout = 0",
            "SET datafusion.runtime.memory_limit = '100G'",
            "RESET ALL",
            "EXPLAIN INSERT INTO t VALUES (1)",
            "CREATE VIEW v AS SELECT 1",
        ] {
            assert!(matches!(verdict(sql), Verdict::Refused(_)), "{sql}");
        }
    }
}
