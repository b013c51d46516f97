//! What the control tests share: a settable clock, the use cases over SQLite or PostgreSQL without
//! Kafka, and a collector played by hand from the outbox.
// Each test file uses its own part of the harness.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use control::store::{outbox, Db};
use control::{Config, Control};
use ingest::clock::Clock;
use ingest::command::{AckMessage, AckOutcome, CommandMessage};
use ingest::kafka::Topics;

/// The two databases every control test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An SQLite file in a temporary directory.
    Sqlite,
    /// A fresh database on the test PostgreSQL server.
    Postgres,
}

/// A clock tests move by hand.
#[derive(Debug, Clone)]
pub struct TestClock(Arc<Mutex<DateTime<Utc>>>);

impl TestClock {
    pub fn at(t: DateTime<Utc>) -> Self {
        Self(Arc::new(Mutex::new(t)))
    }
    pub fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
    pub fn set(&self, t: DateTime<Utc>) {
        *self.0.lock().unwrap() = t;
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

/// A control service's use cases on `backend`.
pub struct Rig {
    pub control: Control,
    pub clock: TestClock,
    /// The database's URL (a second connection sees only what was committed).
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

pub async fn database_url(backend: Backend) -> (String, Option<tempfile::TempDir>) {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}/control.db", dir.path().display());
            (url, Some(dir))
        }
        Backend::Postgres => (super::postgres::fresh_database().await, None),
    }
}

/// Test configuration: trips at any hour, default terms.
pub fn config(url: &str) -> Config {
    Config {
        database: url.to_string(),
        trip_hours: "00:00-24:00".into(),
        trip_on_weekends: true,
        ..Config::default()
    }
}

pub async fn rig_with(
    backend: Backend,
    start: DateTime<Utc>,
    tune: impl FnOnce(&mut Config),
) -> Rig {
    let (url, dir) = database_url(backend).await;
    rig_at(url, dir, start, tune).await
}

/// A rig on the database at `url` (`dir` is dropped with the rig).
pub async fn rig_at(
    url: String,
    dir: Option<tempfile::TempDir>,
    start: DateTime<Utc>,
    tune: impl FnOnce(&mut Config),
) -> Rig {
    let mut config = config(&url);
    tune(&mut config);
    let clock = TestClock::at(start);
    let rules =
        control::service::rules(&config, Topics::with_prefix(""), chrono_tz::Asia::Shanghai)
            .unwrap();
    let db = Db::open(&url, 32).await.unwrap();
    Rig {
        control: Control::new(db, rules, test_keys(), Arc::new(clock.clone())),
        clock,
        url,
        _dir: dir,
    }
}

/// The keys every test rig signs and seals with.
pub fn test_keys() -> control::app::ServiceKeys {
    let key = ingest::keyring::KeyRing::single("test", &[3; 32]).unwrap();
    control::app::ServiceKeys {
        audit: key.clone(),
        commands: key.clone(),
        pii: control::pii::PiiKeys::new(key),
    }
}

/// The tests' actor: an operator at the command line.
pub fn actor() -> control::app::audit::Actor {
    control::app::audit::Actor::cli()
}

/// Wednesday 2026-09-30 10:00 in Shanghai.
pub fn wednesday_morning() -> DateTime<Utc> {
    "2026-09-30T02:00:00Z".parse().unwrap()
}

impl Rig {
    pub async fn open(&self, meter: &str, balance: rust_decimal::Decimal) {
        self.control
            .open_account(
                control::app::accounts::NewAccount {
                    meter_id: meter.into(),
                    collector_id: "col-1".into(),
                    plan: None,
                    opening_balance: balance,
                    terms: Default::default(),
                },
                &actor(),
            )
            .await
            .unwrap();
    }

    /// Takes every outbox message (as the relay would, but without Kafka) and returns the commands.
    pub async fn drain_outbox(&self) -> Vec<CommandMessage> {
        let mut conn = self.control.db().conn().await.unwrap();
        let far = self.clock.now() + Duration::days(3650);
        let due = outbox::due(&mut conn, far, 10_000).await.unwrap();
        let mut out = Vec::new();
        for message in due {
            outbox::delete(&mut conn, &message.id).await.unwrap();
            out.push(serde_json::from_str(&message.payload).unwrap());
        }
        out
    }

    /// The collector's answer to `command`.
    pub fn ack(
        &self,
        command: &CommandMessage,
        outcome: AckOutcome,
        relay_open: Option<bool>,
    ) -> AckMessage {
        AckMessage {
            command_id: command.command_id.clone(),
            meter_id: command.meter_id.clone(),
            collector_id: command.collector_id.clone(),
            outcome,
            error: (outcome == AckOutcome::Refused).then(|| "ERR 0x04: password wrong".into()),
            relay_open,
            at: self.clock.now(),
            attempt: command.attempt,
        }
    }

    /// Payments minus debits must equal the balances: the ledger check finds nothing.
    pub async fn assert_ledger_sound(&self) {
        let mismatches = self.control.check_ledger().await.unwrap();
        assert!(mismatches.is_empty(), "{mismatches:?}");
    }
}

/// Serves the control service's routes (API and pages) over `control` on a free loopback port, with
/// the simulated payment provider signing with `provider_secret`; returns the address.
pub async fn serve_http(control: &Control, provider_secret: &str) -> std::net::SocketAddr {
    serve_http_with(control, provider_secret, None).await
}

/// [`serve_http`] with registration codes going to `sms`.
pub async fn serve_http_with(
    control: &Control,
    provider_secret: &str,
    sms: Option<Arc<dyn control::notify::Channel>>,
) -> std::net::SocketAddr {
    let simulated = Arc::new(control::provider::SimulatedProvider::new(provider_secret));
    let app = control::http::router(control::http::HttpState {
        control: control.clone(),
        supervisor: ingest::supervise::Supervisor::new(),
        metrics: None,
        secure_cookies: false,
        lake: None,
        provider: simulated.clone(),
        simulated: Some(simulated),
        kafka: None,
        sms,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
    });
    addr
}

/// Runs a scenario on SQLite and on PostgreSQL, as two tests.
#[macro_export]
macro_rules! on_both_backends {
    ($name:ident, $scenario:ident) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $scenario(Backend::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $scenario(Backend::Postgres).await;
            }
        }
    };
}
