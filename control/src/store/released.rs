//! What happens to an SQLite connection when it goes back to the pool.
//!
//! Some errors (a full disk, an I/O error) make SQLite roll the whole transaction back by itself.
//! sqlx does not notice: its `ROLLBACK` then fails ("no transaction is active") and it keeps
//! counting the transaction as open, so the next `begin` on that connection issues a `SAVEPOINT`
//! and its commit a `RELEASE`. One more failed statement later, `ROLLBACK TO` leaves a transaction
//! open that no commit ever ends: every payment after it is answered as booked, seen by this one
//! connection, and lost when the connection closes. Found by the chaos trial that fills the
//! accounts database's disk (`tests/chaos_control.rs`).
//!
//! So a connection coming back is checked, and closed (its pool opens a fresh one) unless both
//! sqlx and SQLite agree that no transaction is open.

use sqlx::{AnyConnection, Connection, Executor};

/// True when `conn` may be used again; false closes it. Errors close it too.
pub(super) async fn settled(conn: &mut AnyConnection) -> Result<bool, sqlx::Error> {
    // Runs the rollback a dropped transaction queued, so the depth read next is current.
    conn.ping().await?;
    if conn.is_in_transaction() {
        return Ok(discard(
            "sqlx still counts a transaction that SQLite ended by itself",
        ));
    }
    // SQLite's own view: `BEGIN` fails inside a transaction.
    if conn.execute("BEGIN").await.is_err() {
        return Ok(discard("SQLite holds a transaction nobody will end"));
    }
    conn.execute("ROLLBACK").await?;
    Ok(true)
}

fn discard(why: &str) -> bool {
    tracing::warn!(
        why,
        "closing an accounts-database connection left inside a transaction; \
         its uncommitted work is rolled back and the pool opens a new connection"
    );
    metrics::counter!("meterlake_control_database_connections_discarded_total").increment(1);
    false
}
