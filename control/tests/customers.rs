//! Customers' personal data on SQLite and PostgreSQL: sealed at rest (no plaintext in the table or the
//! audit trail), read back, found by exact phone or ID number through keyed hashes, refused when a
//! sealed value is moved to another row, re-sealed under a rotated key (still found, and unreadable
//! without the new key), and exported to an encrypted Parquet file that only the key ring opens.

#[path = "support/harness.rs"]
mod harness;
#[path = "support/postgres.rs"]
mod postgres;

use std::sync::Arc;

use control::app::customers::CustomerDetails;
use control::pii::PiiKeys;
use control::{Control, ControlError};
use harness::{actor, rig_with, test_keys, wednesday_morning, Backend};
use ingest::keyring::KeyRing;
use rust_decimal_macros::dec;
use sqlx::Row;

const MINE: &str = "000000000001";
const THEIRS: &str = "000000000002";

fn details() -> CustomerDetails {
    CustomerDetails {
        name: Some("张三".into()),
        phone: Some("138-1234-5678".into()),
        address: Some("上海市浦东新区世纪大道100号".into()),
        id_number: Some("11010519491231002x".into()),
    }
}

/// Every stored cell of `customers` and `audit`, as text.
async fn stored_text(control: &Control) -> String {
    let pool = control.db().pool();
    let mut text = String::new();
    for row in sqlx::query(
        "SELECT name, phone, address, id_number, phone_hash, id_number_hash FROM customers",
    )
    .fetch_all(pool)
    .await
    .unwrap()
    {
        for i in 0..6 {
            text.push_str(
                &row.try_get::<Option<String>, _>(i)
                    .unwrap()
                    .unwrap_or_default(),
            );
        }
    }
    for row in sqlx::query("SELECT before_value, after_value FROM audit")
        .fetch_all(pool)
        .await
        .unwrap()
    {
        for i in 0..2 {
            text.push_str(
                &row.try_get::<Option<String>, _>(i)
                    .unwrap()
                    .unwrap_or_default(),
            );
        }
    }
    text
}

/// A second set of use cases over the same database with another PII key ring.
fn with_pii_ring(control: &Control, keys: &[(&str, [u8; 32])]) -> Control {
    let dir = tempfile::tempdir().unwrap();
    for (id, key) in keys {
        std::fs::write(dir.path().join(format!("{id}.key")), hex::encode(key)).unwrap();
    }
    let mut service_keys = test_keys();
    service_keys.pii = PiiKeys::new(KeyRing::load(dir.path(), None).unwrap());
    Control::new(
        control.db().clone(),
        control.rules().clone(),
        service_keys,
        Arc::new(harness::TestClock::at(wednesday_morning())),
    )
}

async fn personal_data_is_sealed_searchable_and_rotatable(backend: Backend) {
    let rig = rig_with(backend, wednesday_morning(), |_| {}).await;
    rig.open(MINE, dec!(50)).await;
    rig.open(THEIRS, dec!(50)).await;
    let c = &rig.control;
    assert_eq!(c.customer(MINE).await.unwrap(), None);
    c.set_customer(MINE, &details(), &actor()).await.unwrap();
    c.set_customer(
        THEIRS,
        &CustomerDetails {
            name: Some("李四".into()),
            phone: Some("13900000000".into()),
            ..CustomerDetails::default()
        },
        &actor(),
    )
    .await
    .unwrap();
    assert_eq!(c.customer(MINE).await.unwrap(), Some(details()));

    // Nothing personal in the clear at rest, in the audit trail or in Debug output.
    let stored = stored_text(c).await;
    for plain in [
        "张三",
        "13812345678",
        "1234",
        "世纪大道",
        "11010519491231002",
    ] {
        assert!(!stored.contains(plain), "{plain} stored in the clear");
    }
    assert!(
        stored.contains("138****5678"),
        "the audit trail keeps masked values"
    );
    assert!(!format!("{:?}", details()).contains("1234"));

    // Exact search by phone (any punctuation) or ID number (any case); nothing for others.
    assert_eq!(
        c.find_customers(Some("13812345678"), None).await.unwrap(),
        [MINE]
    );
    assert_eq!(
        c.find_customers(None, Some("11010519491231002X"))
            .await
            .unwrap(),
        [MINE]
    );
    assert!(c
        .find_customers(Some("13812345679"), None)
        .await
        .unwrap()
        .is_empty());
    assert!(matches!(
        c.find_customers(Some("1"), Some("2")).await,
        Err(ControlError::Invalid(_))
    ));
    let bad = CustomerDetails {
        phone: Some("call me 555".into()),
        ..CustomerDetails::default()
    };
    let err = c.set_customer(MINE, &bad, &actor()).await.unwrap_err();
    assert!(matches!(err, ControlError::Invalid(_)) && !err.to_string().contains("555"));
    assert!(matches!(
        c.set_customer("000000009999", &details(), &actor()).await,
        Err(ControlError::NotFound(_))
    ));

    // Rotation: a ring with a newer key re-seals every row; the search still finds them, the old
    // ring alone no longer opens them.
    let rotated = with_pii_ring(c, &[("test", [3; 32]), ("zz-next", [9; 32])]);
    assert_eq!(rotated.reseal_customers(&actor()).await.unwrap(), 2);
    assert_eq!(
        rotated.reseal_customers(&actor()).await.unwrap(),
        0,
        "nothing left"
    );
    assert_eq!(rotated.customer(MINE).await.unwrap(), Some(details()));
    assert_eq!(
        rotated
            .find_customers(Some("138 1234 5678"), None)
            .await
            .unwrap(),
        [MINE]
    );
    assert!(
        c.customer(MINE).await.is_err(),
        "the old key alone does not open it"
    );

    // A sealed value moved to another row does not open there.
    let pool = c.db().pool();
    sqlx::query(
        "UPDATE customers SET phone = (SELECT phone FROM customers WHERE meter_id = $1) \
         WHERE meter_id = $2",
    )
    .bind(MINE)
    .bind(THEIRS)
    .execute(pool)
    .await
    .unwrap();
    assert!(matches!(
        rotated.customer(THEIRS).await,
        Err(ControlError::Corrupt(_))
    ));

    // An encrypted export reads back with the ring only.
    sqlx::query("DELETE FROM customers WHERE meter_id = $1")
        .bind(THEIRS)
        .execute(pool)
        .await
        .unwrap();
    let rows = rotated.customers_for_export(&actor()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("customers.parquet");
    control::pii_export::write(&path, &rows, rotated.pii_keys()).unwrap();
    assert_eq!(
        control::pii_export::read(&path, rotated.pii_keys()).unwrap(),
        vec![(MINE.to_string(), details())]
    );
    assert!(control::pii_export::read(&path, c.pii_keys()).is_err());
    assert!(rotated.verify_audit().await.unwrap().broken.is_none());
}

#[tokio::test]
async fn personal_data_on_sqlite() {
    personal_data_is_sealed_searchable_and_rotatable(Backend::Sqlite).await;
}

#[tokio::test]
async fn personal_data_on_postgres() {
    personal_data_is_sealed_searchable_and_rotatable(Backend::Postgres).await;
}
