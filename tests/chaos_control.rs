//! The chaos suite, control side: `meterlake control run` keeping prepaid accounts and sending relay
//! commands through Kafka to `meterlake collect`, which executes them on simulated DL/T 645 meters.
//! Faults hit while cashiers pay and operators trip relays; after each trial the balance must be the
//! opening plus every payment once, the ledger check sound, and every command done with the meter
//! having tripped exactly as often as it was told.
//!
//! `METERLAKE_CHAOS_TRIALS` (default 2), `METERLAKE_CHAOS_OUTAGE_S` and `METERLAKE_CHAOS_REPORT` as in
//! `tests/chaos.rs`.

mod chaos_support;
mod http_support;

use std::time::{Duration, Instant};

use chaos_support::pipeline::{Pipeline, Running, Setup};
use chaos_support::report::{self, FaultRow};
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;

/// The world of a control trial: the pipeline with its service, and the staff.
struct World {
    pipeline: Pipeline,
    cashier: String,
    operator: String,
    /// The meter trips go to.
    switched: String,
    /// The meter payments go to.
    paid: String,
    /// The balance the paid account should hold.
    expected: Decimal,
    /// Trips the switched meter should have executed.
    trips: u32,
}

const OPENING: &str = "100.00";

impl World {
    async fn start() -> (Self, Running) {
        Self::start_with(Setup {
            meters: 4,
            ..Setup::default()
        })
        .await
    }

    async fn start_with(setup: Setup) -> (Self, Running) {
        let mut pipeline = Pipeline::with(setup).await;
        let cashier = pipeline.user("till", "cashier");
        let operator = pipeline.user("desk", "operator");
        let control = pipeline.control().await;
        let meters = pipeline.meters();
        for meter in &meters[..2] {
            let body = format!(
                r#"{{"meter_id":"{meter}","collector_id":"c-chaos","opening_balance":"{OPENING}"}}"#
            );
            let (status, answer) = pipeline
                .control_request_as(&cashier, "POST", "/api/accounts", &body)
                .await
                .expect("the service answers");
            assert_eq!(status, 200, "{answer}");
        }
        let world = Self {
            switched: meters[0].clone(),
            paid: meters[1].clone(),
            pipeline,
            cashier,
            operator,
            expected: OPENING.parse().expect("decimal"),
            trips: 0,
        };
        (world, control)
    }

    /// One payment request: the service's status and answer, `None` when it did not answer.
    async fn pay_answer(
        &self,
        amount: Decimal,
        reference: &str,
    ) -> Option<(u16, serde_json::Value)> {
        let body = format!(r#"{{"amount":"{amount}","reference":"{reference}"}}"#);
        let path = format!("/api/accounts/{}/payments", self.paid);
        self.pipeline
            .control_request_as(&self.cashier, "POST", &path, &body)
            .await
    }

    /// One payment attempt; `Some(true)` when booked (or a replay of a booked one), `None` when the
    /// service did not answer or was unavailable (503: the till tries again).
    async fn pay_once(&self, amount: Decimal, reference: &str) -> Option<bool> {
        let (status, answer) = self.pay_answer(amount, reference).await?;
        if status == 503 {
            return None;
        }
        assert_eq!(status, 200, "payment {reference}: {answer}");
        Some(true)
    }

    /// A payment, repeated with the same reference until the service answers (as a till does).
    async fn pay(&mut self, amount: Decimal, reference: &str) {
        let deadline = Instant::now() + Duration::from_secs(120);
        while self.pay_once(amount, reference).await.is_none() {
            assert!(
                Instant::now() < deadline,
                "payment {reference} never answered"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.expected += amount;
    }

    /// Trips the relay; returns the command's id. A paid-up account gets its close-allowed back from
    /// the service by itself: while that is in flight the meter's slot is busy (409), and the operator
    /// tries again.
    async fn trip(&mut self) -> String {
        let body = r#"{"action":"trip","reason":"chaos trial"}"#;
        let path = format!("/api/accounts/{}/commands", self.switched);
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let answer = self
                .pipeline
                .control_request_as(&self.operator, "POST", &path, body)
                .await;
            match answer {
                Some((200, command)) => {
                    self.trips += 1;
                    return command["command_id"]
                        .as_str()
                        .unwrap_or_else(|| panic!("a command id in {command}"))
                        .to_string();
                }
                Some((409, _)) | None if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                other => {
                    panic!(
                        "trip: {other:?}; health {:?}",
                        self.pipeline.control_request("GET", "/healthz", "").await
                    )
                }
            }
        }
    }

    /// Waits until command `id` is done; false if it is not within `within`.
    async fn done(&self, id: &str, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some((200, detail)) = self
                .pipeline
                .control_request_as(&self.operator, "GET", &format!("/api/commands/{id}"), "")
                .await
            {
                if detail["state"] == "done" {
                    return true;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    }

    /// Checks the ledger, stops the processes and finishes the row.
    fn wind_down(&self, collector: Running, control: Running, row: FaultRow) {
        assert!(self.pipeline.ledger_sound(), "the ledger check");
        collector.stop();
        control.stop();
        row.finish();
    }

    /// Waits until no command of the switched meter is in flight (a paid-up account's automatic
    /// close-allowed after a trip included); false if one still is after `within`.
    async fn quiet(&self, within: Duration) -> bool {
        let path = format!("/api/accounts/{}/commands", self.switched);
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some((200, commands)) = self
                .pipeline
                .control_request_as(&self.operator, "GET", &path, "")
                .await
            {
                let finished = ["done", "failed", "expired", "cancelled"];
                let in_flight = commands.as_array().is_none_or(|list| {
                    list.iter()
                        .any(|c| !finished.iter().any(|state| c["state"] == *state))
                });
                if !in_flight {
                    return true;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    }

    /// Adds the trial's money and commands to the row.
    async fn count(&self, row: &mut FaultRow, command_done: bool) {
        let path = format!("/api/accounts/{}", self.paid);
        let (_, account) = self
            .pipeline
            .control_request_as(&self.cashier, "GET", &path, "")
            .await
            .expect("the service answers");
        let balance: Decimal = account["account"]["balance"]
            .as_str()
            .and_then(|b| b.parse().ok())
            .unwrap_or_else(|| panic!("a balance in {account}"));
        let committed = self.pipeline.committed_balance(&self.paid).await;
        assert_eq!(
            balance, committed,
            "the service shows a balance that is not committed"
        );
        let lost: Decimal = (self.expected - balance).max(Decimal::ZERO);
        let doubled: Decimal = (balance - self.expected).max(Decimal::ZERO);
        let add = |total: &str, more: Decimal| {
            (total.parse::<Decimal>().unwrap_or_default() + more)
                .normalize()
                .to_string()
        };
        row.money_lost = add(&row.money_lost, lost);
        row.money_doubled = add(&row.money_doubled, doubled);
        row.commands_lost += u64::from(!command_done);
        let trips = self.pipeline.trips_received(&self.switched);
        row.commands_doubled += u64::from(trips.saturating_sub(self.trips));
        row.commands_lost += u64::from(self.trips.saturating_sub(trips));
        row.trials += 1;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_down_during_payments_and_commands() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(report::seed() + 20);
    let (mut world, control) = World::start().await;
    let collector = world.pipeline.collector();
    // Steady state first: one command through the whole loop (the service's consumer groups joined).
    let warm_up = world.trip().await;
    assert!(world.done(&warm_up, Duration::from_secs(60)).await);
    let mut row = FaultRow::new("Kafka broker down while cashiers pay and operators trip relays");
    for trial in 0..report::trials(2) {
        // The outage starts with no command in flight, so the operator's trip can be taken.
        assert!(
            world.quiet(Duration::from_secs(60)).await,
            "a command stays in flight"
        );
        world.pipeline.broker_up(false);
        let down = Instant::now();
        let id = world.trip().await;
        for k in 0..3 {
            let amount = Decimal::new(rng.gen_range(1..10_000), 2);
            world.pay(amount, &format!("down-{trial}-{k}")).await;
        }
        let outage = report::outage(6, 5).saturating_sub(down.elapsed());
        // The trip and payments above may have used up the outage on a loaded machine: the watch
        // still asks, for up to 20 s, while the broker stays away.
        row.watch(outage, (outage * 3).max(Duration::from_secs(20)), || {
            world
                .pipeline
                .control_shows("kafka_unreachable", "meterlake_control_outbox_failing 1")
        })
        .await;
        world.pipeline.broker_up(true);
        let back = Instant::now();
        // After the outage the clients reconnect (backoff up to 10 s), the outbox retries (up to
        // 10 s) and the relay consumers may rejoin their groups (a lost member's 10 s session):
        // the recovery time is measured, the limit only decides "lost".
        let done = world.done(&id, Duration::from_secs(120)).await;
        row.recovered_in(back.elapsed());
        world.count(&mut row, done).await;
    }
    world.wind_down(collector, control, row);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_service_killed_with_sigkill_at_random_moments() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(report::seed() + 21);
    let (mut world, mut control) = World::start().await;
    let collector = world.pipeline.collector();
    let mut row = FaultRow::new("kill -9 of the control service during payments and commands");
    for trial in 0..report::trials(2) {
        // A payment in flight when the service dies: the till repeats it with the same reference.
        let amount = Decimal::new(rng.gen_range(1..10_000), 2);
        let reference = format!("kill-{trial}");
        let in_flight = world.pay_once(amount, &reference);
        let kill_after = Duration::from_millis(rng.gen_range(0..60));
        let killed = async {
            tokio::time::sleep(kill_after).await;
        };
        let (answered, ()) = tokio::join!(in_flight, killed);
        control.kill_hard();
        row.stopping += 1;
        if world
            .pipeline
            .control_request("GET", "/healthz", "")
            .await
            .is_none()
        {
            row.seen_in_health += 1;
        }
        let restarted = Instant::now();
        control = world.pipeline.control().await;
        if answered.is_some() {
            world.expected += amount;
        } else {
            world.pay(amount, &reference).await;
        }
        // A command, then death at a random moment before or after the relay sent it.
        let id = world.trip().await;
        tokio::time::sleep(Duration::from_millis(rng.gen_range(0..400))).await;
        control.kill_hard();
        control = world.pipeline.control().await;
        let done = world.done(&id, Duration::from_secs(120)).await;
        row.recovered_in(restarted.elapsed());
        world.count(&mut row, done).await;
    }
    world.wind_down(collector, control, row);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disk_full_under_the_accounts_database() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(report::seed() + 22);
    let (mut world, control) = World::start_with(Setup {
        meters: 4,
        database_megabytes: Some(32),
        ..Setup::default()
    })
    .await;
    let collector = world.pipeline.collector();
    let mut row =
        FaultRow::new("disk full under the accounts database (tmpfs filled to the last byte)");
    for trial in 0..report::trials(2) {
        world.pipeline.database_disk().fill();
        // Cashiers go on taking payments until the database refuses one (SQLite may still fit a
        // few into pages it holds).
        let mut refused = None;
        for k in 0..3000 {
            // Small sums: thousands of them stay below the hoarding limit.
            let amount = Decimal::new(rng.gen_range(1..1_000), 2);
            let reference = format!("full-{trial}-{k}");
            match world.pay_answer(amount, &reference).await {
                Some((200, _)) => world.expected += amount,
                Some((503, answer)) => {
                    refused = Some((amount, reference, answer));
                    break;
                }
                other => panic!("payment {reference} on a full disk: {other:?}"),
            }
        }
        let (amount, reference, answer) = refused
            .expect("3,000 payments on a full disk and none refused: the trial tested nothing");
        assert!(
            answer.to_string().contains("full"),
            "the refusal says why: {answer}"
        );
        row.watch(Duration::ZERO, Duration::from_secs(15), || {
            world.pipeline.control_shows(
                "database_refusing_writes",
                "meterlake_control_database_failing 1",
            )
        })
        .await;
        world.pipeline.database_disk().free();
        let freed = Instant::now();
        // The till repeats the refused payment with its reference: booked once.
        world.pay(amount, &reference).await;
        row.recovered_in(freed.elapsed());
        world.count(&mut row, true).await;
    }
    world.wind_down(collector, control, row);
}
