//! The accounts database failing under a use case: what was answered as booked must be committed,
//! and a refusal must change nothing.

#[path = "support/harness.rs"]
mod harness;
#[path = "support/postgres.rs"]
mod postgres;
#[path = "../../tests/chaos_support/tmpfs.rs"]
mod tmpfs;

use control::store::Db;
use control::ErrorKind;
use harness::*;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use sqlx::Executor;

const METER: &str = "000000007001";

/// Triggers on the service's own connection (TEMP: no other connection has them). A payment of
/// 13.13 makes SQLite roll the whole transaction back by itself, as it may on a full disk or an I/O
/// error; one of 14.14 fails only its statement, as a constraint does.
async fn arm_faults(db: &Db) {
    for (name, fen, raise) in [
        ("whole_transaction_lost", 1313, "ROLLBACK"),
        ("one_statement_refused", 1414, "ABORT"),
    ] {
        let trigger = format!(
            "CREATE TEMP TRIGGER IF NOT EXISTS {name} AFTER INSERT ON main.payment_references \
             WHEN NEW.amount_fen = {fen} BEGIN SELECT RAISE({raise}, '{name}'); END"
        );
        db.pool().execute(trigger.as_str()).await.unwrap();
    }
}

/// The balance as another connection sees it: committed money only.
async fn committed_balance(url: &str) -> Decimal {
    let other = Db::open(url, 1).await.unwrap();
    let (fen,): (i64,) = sqlx::query_as("SELECT balance_fen FROM accounts WHERE meter_id = $1")
        .bind(METER)
        .fetch_one(other.pool())
        .await
        .unwrap();
    other.close().await;
    Decimal::new(fen, 2)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payments_answered_after_sqlite_rolled_back_by_itself_are_committed() {
    let rig = rig_with(Backend::Sqlite, wednesday_morning(), |_| {}).await;
    rig.open(METER, dec!(5.00)).await;
    let mut answered = dec!(5.00);
    let payments = [
        "10.00", "13.13", "1.00", "14.14", "2.00", "3.00", "13.13", "4.00",
    ];
    let mut refused = 0;
    for (k, amount) in payments.into_iter().enumerate() {
        arm_faults(rig.control.db()).await;
        let reference = format!("till-{k}");
        match rig.control.pay(METER, amount, &reference, &actor()).await {
            Ok(receipt) => {
                assert!(!receipt.replay);
                answered += amount.parse::<Decimal>().unwrap();
            }
            Err(_) => refused += 1,
        }
    }
    assert_eq!(refused, 3, "the armed payments fail");
    assert_eq!(answered, dec!(25.00));
    assert_eq!(rig.control.account(METER).await.unwrap().balance, answered);
    assert_eq!(
        committed_balance(&rig.url).await,
        answered,
        "every payment answered as booked is committed"
    );
    rig.assert_ledger_sound().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_under_postgresql_refuses_payments_and_loses_none() {
    let scratch = tempfile::tempdir().unwrap();
    let disk = tmpfs::Tmpfs::mount(&scratch.path().join("disk"), 16);
    let location = scratch.path().join("disk/space");
    std::fs::create_dir(&location).unwrap();
    let url = postgres::fresh_database_in(&location).await;
    let rig = rig_at(url.clone(), None, wednesday_morning(), |_| {}).await;
    rig.open(METER, dec!(5.00)).await;
    let mut answered = dec!(5.00);
    disk.fill();
    // The server fills the free room its tables' pages still have, then cannot extend a file.
    let mut refused = None;
    for k in 0..20_000 {
        let reference = format!("till-{k}");
        match rig.control.pay(METER, "0.01", &reference, &actor()).await {
            Ok(_) => answered += dec!(0.01),
            Err(err) => {
                refused = Some((reference, err));
                break;
            }
        }
    }
    let (reference, err) = refused.expect("20,000 payments on a full disk and none refused");
    assert!(err.storage_full(), "refused for a full disk: {err}");
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert_eq!(
        committed_balance(&url).await,
        answered,
        "the refusal changed nothing"
    );
    disk.free();
    // The till repeats the refused payment with its reference: booked once.
    let receipt = rig
        .control
        .pay(METER, "0.01", &reference, &actor())
        .await
        .unwrap();
    assert!(!receipt.replay);
    answered += dec!(0.01);
    assert_eq!(rig.control.account(METER).await.unwrap().balance, answered);
    assert_eq!(committed_balance(&url).await, answered);
    rig.assert_ledger_sound().await;
}
