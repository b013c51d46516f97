//! `meterlake control` as its own process against a Kafka-protocol broker, killed with SIGKILL in the
//! middle of payments and restarted: every acknowledged payment is in the ledger once, the ledger check
//! passes, and the close-allowed a payment queued reaches Kafka after the restart.

mod http_support;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use ingest::command::{AckMessage, AckOutcome, CommandMessage};
use ingest::dlt645::RelayAction;
use ingest::kafka::{EmbeddedKafka, KafkaSettings, Topics};
use rdkafka::consumer::Consumer;
use rdkafka::producer::FutureRecord;
use rdkafka::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const METER: &str = "000000001001";

struct Service {
    env: Vec<(String, String)>,
    port: u16,
    /// Where every run of the service appends its log (debug level), searched for secrets at the end.
    log: std::path::PathBuf,
    /// A cashier's API token (payments, accounts).
    cashier: String,
    /// An admin's (health).
    admin: String,
}

impl Service {
    fn spawn(&self) -> Child {
        Command::new(env!("CARGO_BIN_EXE_meterlake"))
            .args(["control", "run"])
            .envs(self.env.iter().cloned())
            .env("METERLAKE_LOG", "debug,rdkafka=info,hyper=info,h2=info")
            .stdout(Stdio::null())
            .stderr(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&self.log)
                    .unwrap(),
            )
            .spawn()
            .unwrap()
    }

    /// Runs `meterlake <args>` with the service's configuration and `stdin`; returns standard output.
    fn cli(env: &[(String, String)], args: &[&str], stdin: &str) -> String {
        http_support::run(env, args, stdin)
    }

    /// Makes a user at the command line (the first-admin bootstrap) and returns a fresh API token.
    fn user_with_token(env: &[(String, String)], name: &str, role: &str) -> String {
        Self::cli(
            env,
            &["user", "add", name, "--role", role],
            "correct horse battery staple\n",
        );
        Self::cli(env, &["user", "token", name, "--label", "test"], "")
    }

    /// One HTTP request as the cashier; `None` when the service is not answering.
    async fn request(
        &self,
        method: &str,
        path: &str,
        body: &str,
    ) -> Option<(u16, serde_json::Value)> {
        self.request_as(Some(&self.cashier), method, path, body)
            .await
    }

    /// One HTTP request with `token` (none: anonymous), its answer's JSON document.
    async fn request_as(
        &self,
        token: Option<&str>,
        method: &str,
        path: &str,
        body: &str,
    ) -> Option<(u16, serde_json::Value)> {
        let (status, text) = self.text_as(token, method, path, body).await?;
        let (start, end) = (
            text.find(['{', '[']).unwrap_or(0),
            text.rfind(['}', ']']).map_or(text.len(), |e| e + 1),
        );
        Some((
            status,
            serde_json::from_str(&text[start..end]).unwrap_or_default(),
        ))
    }

    /// One HTTP request with `token` (none: anonymous), its answer's body as text.
    async fn text_as(
        &self,
        token: Option<&str>,
        method: &str,
        path: &str,
        body: &str,
    ) -> Option<(u16, String)> {
        let authorization = token
            .map(|t| format!("Authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .ok()?;
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: t\r\n{authorization}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut response = String::new();
        stream.read_to_string(&mut response).await.ok()?;
        let status = response.get(9..12)?.parse().ok()?;
        let text = response.split("\r\n\r\n").nth(1).unwrap_or_default();
        Some((status, text.to_string()))
    }

    async fn wait_healthy(&self) {
        for _ in 0..300 {
            if let Some((200, _)) = self
                .request_as(Some(&self.admin), "GET", "/healthz", "")
                .await
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("meterlake control did not become healthy");
    }
}

async fn next_command(
    consumer: &ingest::kafka::KafkaConsumer,
    want: impl Fn(&CommandMessage) -> bool,
) -> CommandMessage {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let message = tokio::time::timeout(left, consumer.recv())
            .await
            .expect("the command did not reach Kafka")
            .unwrap();
        let command: CommandMessage = serde_json::from_slice(message.payload().unwrap()).unwrap();
        if want(&command) {
            return command;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_runs_alone_and_survives_sigkill_between_payment_and_send() {
    let topics = Topics::with_prefix("");
    let kafka = EmbeddedKafka::start(1, &topics, 1).unwrap();
    let settings = KafkaSettings {
        brokers: kafka.bootstrap_servers(),
        properties: Default::default(),
    };
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let env = vec![
        (
            "METERLAKE_CONTROL__DATABASE".into(),
            format!("sqlite://{}/control.db", dir.path().display()),
        ),
        (
            "METERLAKE_CONTROL__LISTEN".into(),
            format!("127.0.0.1:{port}"),
        ),
        ("METERLAKE_TLS__ALLOW_PLAINTEXT".into(), "true".into()),
        ("METERLAKE_CONTROL__TRIP_HOURS".into(), "00:00-24:00".into()),
        ("METERLAKE_CONTROL__TRIP_ON_WEEKENDS".into(), "true".into()),
        ("METERLAKE_CONTROL__WARNING_LEAD_S".into(), "0".into()),
        ("METERLAKE_CONTROL__BILLING_EVERY_S".into(), "0".into()),
        ("METERLAKE_CONTROL__SWEEP_EVERY_MS".into(), "100".into()),
        ("METERLAKE_KAFKA__BROKERS".into(), settings.brokers.clone()),
        (
            "METERLAKE_LAKE__LOCATION".into(),
            dir.path().join("lake").display().to_string(),
        ),
        (
            "METERLAKE_CONTROL__AUDIT_KEYS_DIR".into(),
            dir.path().join("keys/audit").display().to_string(),
        ),
        (
            "METERLAKE_CONTROL__COMMAND_KEYS_DIR".into(),
            dir.path().join("keys/commands").display().to_string(),
        ),
    ];
    // The first users are made at the command line, before the service ever runs.
    let admin = Service::user_with_token(&env, "root", "admin");
    let cashier = Service::user_with_token(&env, "till-1", "cashier");
    let service = Service {
        env,
        port,
        log: dir.path().join("service.log"),
        cashier,
        admin,
    };
    let mut child = service.spawn();
    service.wait_healthy().await;
    // Kafka goes away while the service is idle (no command waits in the outbox): health says so at
    // once, from the relay producer's statistics, and recovers with the broker.
    kafka.set_broker_up(1, false).unwrap();
    let mut seen = None;
    for _ in 0..300 {
        if let Some((503, doc)) = service
            .request_as(Some(&service.admin), "GET", "/healthz", "")
            .await
        {
            seen = Some(doc);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let doc = seen.expect("an idle service shows Kafka unreachable");
    assert_eq!(
        doc["faults"],
        serde_json::json!(["kafka_unreachable"]),
        "{doc}"
    );
    assert_eq!(doc["kafka"]["down"], true, "{doc}");
    assert_eq!(doc["outbox"]["waiting"], 0, "{doc}");
    kafka.set_broker_up(1, true).unwrap();
    service.wait_healthy().await;
    let commands = ingest::kafka::consumer(&settings, "test-collector").unwrap();
    commands.subscribe(&[&topics.commands]).unwrap();
    let (status, _) = service
        .request_as(None, "GET", "/api/accounts", "")
        .await
        .unwrap();
    assert_eq!(status, 401, "nothing answers without credentials");
    let (status, _) = service
        .request_as(
            None,
            "POST",
            "/api/login",
            r#"{"username":"root","password":"a guess that is wrong"}"#,
        )
        .await
        .unwrap();
    assert_eq!(status, 401);
    // A forged payment callback is refused and counted where an operator's alerting looks.
    let (status, _) = service
        .request_as(
            None,
            "POST",
            "/pay/callback",
            r#"{"order_id":"forged","amount":"500.00","status":"paid"}"#,
        )
        .await
        .unwrap();
    assert_eq!(status, 401, "no signature, no payment");
    let (status, metrics) = service
        .text_as(Some(&service.admin), "GET", "/metrics", "")
        .await
        .unwrap();
    assert_eq!(status, 200);
    assert!(
        metrics.contains(r#"meterlake_control_payment_callbacks_total{result="bad_signature"} 1"#),
        "{metrics}"
    );
    let (status, spec) = service
        .request("GET", "/api/openapi.json", "")
        .await
        .unwrap();
    assert_eq!(status, 200);
    assert!(spec["paths"]["/api/accounts/{meter}/payments"].is_object());
    // An account opened in arrears: past the overdraft limit, so a trip goes out through Kafka.
    let body =
        format!(r#"{{"meter_id":"{METER}","collector_id":"col-1","opening_balance":"-20.00"}}"#);
    let (status, account) = service
        .request("POST", "/api/accounts", &body)
        .await
        .unwrap();
    assert_eq!(status, 200, "{account}");
    assert_eq!(account["state"], "overdraft_trip");
    let trip = next_command(&commands, |c| c.action == RelayAction::Trip).await;
    // The collector's answer: executed, relay read back open.
    let ack = AckMessage {
        command_id: trip.command_id.clone(),
        meter_id: METER.into(),
        collector_id: "col-1".into(),
        outcome: AckOutcome::Executed,
        error: None,
        relay_open: Some(true),
        at: chrono::Utc::now(),
        attempt: trip.attempt,
    };
    let producer = ingest::kafka::producer(&settings).unwrap();
    let payload = serde_json::to_vec(&ack).unwrap();
    producer
        .send(
            FutureRecord::to(&topics.acks)
                .key("col-1")
                .payload(&payload),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    // The broker went away above while the ack consumer was joining its group: its rejoin waits for
    // the lost member's 10 s session to lapse (6-13 s measured), so the answer may take that long.
    let mut relay_open = false;
    for _ in 0..1200 {
        let (_, account) = service
            .request("GET", &format!("/api/accounts/{METER}"), "")
            .await
            .unwrap();
        if account["account"]["relay"] == "open" {
            relay_open = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(relay_open, "the acknowledgement was applied");

    // Thirty payments of 1.00; the 23rd re-arms the account (3.00, above close-allowed 2.00).
    let mut close_allowed = None;
    let mut answered = 0;
    let mut reference = 0;
    while reference < 30 {
        let body = format!(r#"{{"amount":"1.00","reference":"pay-{reference}"}}"#);
        match service
            .request("POST", &format!("/api/accounts/{METER}/payments"), &body)
            .await
        {
            Some((200, receipt)) => {
                answered += 1;
                // Killed right after the payment that queued the close-allowed, before the relay
                // may have sent it, and after every third payment.
                let queued = receipt["command_id"].as_str().map(str::to_string);
                let kill = queued.is_some() || (reference + 1) % 3 == 0;
                if queued.is_some() {
                    close_allowed = queued;
                }
                reference += 1;
                if kill {
                    child.kill().unwrap();
                    child.wait().unwrap();
                    child = service.spawn();
                    service.wait_healthy().await;
                }
            }
            Some((status, body)) => panic!("payment {reference}: {status} {body}"),
            None => service.wait_healthy().await,
        }
    }
    assert_eq!(answered, 30);
    let command_id = close_allowed.expect("a payment re-armed the account");
    let sent = next_command(&commands, |c| c.command_id == command_id).await;
    assert_eq!(sent.action, RelayAction::CloseAllowed);
    // Replays after the restarts change nothing; the balance is the opening plus each payment once.
    let (status, replay) = service
        .request(
            "POST",
            &format!("/api/accounts/{METER}/payments"),
            r#"{"amount":"1.00","reference":"pay-4"}"#,
        )
        .await
        .unwrap();
    assert_eq!(
        (status, &replay["replay"]),
        (200, &serde_json::Value::Bool(true))
    );
    let (_, account) = service
        .request("GET", &format!("/api/accounts/{METER}"), "")
        .await
        .unwrap();
    assert_eq!(account["account"]["balance"], "10.00");
    child.kill().unwrap();
    child.wait().unwrap();
    let check = Command::new(env!("CARGO_BIN_EXE_meterlake"))
        .args(["control", "check"])
        .envs(service.env.iter().cloned())
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    assert!(String::from_utf8_lossy(&check.stdout).contains("ledger sound"));
    // Every payment, the opening and the commands are in the audit trail, and its chain holds across
    // the kills.
    let verified = Service::cli(&service.env, &["audit", "verify"], "");
    assert!(verified.contains("intact"), "{verified}");
    let exported = Service::cli(&service.env, &http_support::AUDIT_EXPORT_ALL, "");
    let payments = exported
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|r| r["action"] == "payment" && r["actor"] == "till-1")
        .count();
    assert_eq!(payments, 30, "each payment once, under its cashier");

    // No secret reached a log line: not the tokens, not the passwords (right or guessed), not the keys.
    let log = std::fs::read_to_string(&service.log).unwrap();
    assert!(
        log.lines().count() > 50,
        "the service logged at debug level"
    );
    let key = std::fs::read_dir(dir.path().join("keys/commands"))
        .unwrap()
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .next()
        .unwrap();
    for secret in [
        service.cashier.as_str(),
        service.admin.as_str(),
        "correct horse battery staple",
        "a guess that is wrong",
        key.trim(),
    ] {
        assert!(!secret.is_empty());
        assert!(!log.contains(secret), "a secret is in the service's log");
    }
}
