//! The PostgreSQL endpoint (`meterlake sql-server`) through the real `psql` client: the control service's
//! analyst logs in with their own password and gets the right rows; a wrong or missing password, a user
//! whose role lacks SQL and an address that keeps failing are refused; connections are capped; over TLS a
//! plaintext client is refused and a client that trusts another certificate refuses the server; DDL, DML, `COPY … TO` a file and `CREATE EXTERNAL
//! TABLE` are refused; `SET` cannot lift the limits; a long streaming query is cancelled at the timeout
//! with SQLSTATE 57014; a query over the memory limit gets an error (53200) and the server lives on.

mod http_support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use chrono::{DateTime, Duration, Utc};
use ingest::reading::{readings_to_batch, Quality, Reading};
use rust_decimal::Decimal;
use store::{Lake, LakeLocation};

const PASSWORD: &str = "lake-reader 2026";

/// A running `meterlake sql-server` on a lake of six readings; killed on drop.
struct Server {
    child: Child,
    port: u16,
    /// The certificate clients trust, when the server speaks TLS.
    cert: Option<PathBuf>,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn lake(dir: &std::path::Path) {
    let location = LakeLocation::parse(&dir.join("lake").display().to_string()).unwrap();
    let start: DateTime<Utc> = "2026-10-01T16:00:00Z".parse().unwrap();
    let mut rows = Vec::new();
    for (meter, base) in [("000000000001", 100), ("000000000002", 200)] {
        for k in 0..3 {
            let mut r = Reading::empty(
                meter.to_string(),
                start + Duration::minutes(15 * k),
                "bus-1",
                "c-1",
            );
            r.energy_fwd_total_kwh = Some(Decimal::new(base * 100 + 25 * k, 2));
            r.quality = Quality::Ok;
            rows.push(r);
        }
    }
    let mut lake = Lake::open(&location, chrono_tz::Asia::Shanghai)
        .await
        .unwrap();
    lake.append(vec![readings_to_batch(&rows).unwrap()], &[])
        .await
        .unwrap();
}

/// Writes the server's configuration: the lake, the user store, limits, and TLS (`meterlake cert`)
/// or plaintext.
fn configure(dir: &Path, tls: bool, max_connections: usize) -> PathBuf {
    let tls_section = if tls {
        cli_ok(&["cert", "--dir", dir.join("tls").to_str().unwrap()], "");
        format!(
            "cert = \"{0}/tls/cert.pem\"\nkey = \"{0}/tls/key.pem\"\n",
            dir.display()
        )
    } else {
        "allow_plaintext = true\n".to_string()
    };
    let config = dir.join("meterlake.toml");
    std::fs::write(
        &config,
        format!(
            "[lake]\nlocation = \"{0}/lake\"\nregistry = \"{0}/registry\"\n\
             [control]\ndatabase = \"sqlite://{0}/control.db\"\naudit_keys_dir = \"{0}/keys/audit\"\n\
             command_keys_dir = \"{0}/keys/commands\"\n\
             [sql_server]\nstatement_timeout_s = 3\nmemory_limit_mb = 16\nmax_connections = {max_connections}\n\
             [tls]\n{tls_section}",
            dir.display()
        ),
    )
    .unwrap();
    config
}

/// Runs `meterlake <args>` with `stdin`; panics unless it succeeds.
fn cli_ok(args: &[&str], stdin: &str) -> String {
    http_support::run(&[], args, stdin)
}

fn command(config: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_meterlake"));
    command
        .args(["--config", config.to_str().unwrap()])
        .args(["sql-server", "--listen", "127.0.0.1:0"])
        .stderr(Stdio::piped());
    command
}

async fn start() -> Server {
    start_with(false, 32).await
}

/// A server over a fresh lake with two users: `analyst` (role analyst, [`PASSWORD`]) and `till`
/// (a cashier, same password).
async fn start_with(tls: bool, max_connections: usize) -> Server {
    let dir = tempfile::tempdir().unwrap();
    lake(dir.path()).await;
    let config = configure(dir.path(), tls, max_connections);
    let config_arg = config.to_str().unwrap();
    for (name, role) in [("analyst", "analyst"), ("till", "cashier")] {
        cli_ok(
            &["--config", config_arg, "user", "add", name, "--role", role],
            &format!("{PASSWORD}\n"),
        );
    }
    let mut child = command(&config).spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let port = loop {
        let line = lines
            .next()
            .expect("the server printed its address")
            .unwrap();
        if let Some(rest) = line.split("port=").nth(1) {
            break rest
                .split_whitespace()
                .next()
                .unwrap()
                .trim_matches('"')
                .parse()
                .unwrap();
        }
    };
    // Keep draining the server's log so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Server {
        child,
        port,
        cert: tls.then(|| dir.path().join("tls/cert.pem")),
        _dir: dir,
    }
}

/// Runs psql as `analyst` with `password` and the statements; returns (success, stdout, stderr).
fn psql(server: &Server, password: &str, statements: &[&str]) -> (bool, String, String) {
    psql_as(server, "analyst", password, "", statements)
}

/// Runs psql as `user` with `password` and extra connection options (`sslmode=…`); over TLS the
/// server's own certificate is trusted unless `extra` sets its own `sslmode`.
fn psql_as(
    server: &Server,
    user: &str,
    password: &str,
    extra: &str,
    statements: &[&str],
) -> (bool, String, String) {
    let tls = match (&server.cert, extra.contains("sslmode")) {
        (Some(cert), false) => format!(" sslmode=verify-full sslrootcert={}", cert.display()),
        _ => String::new(),
    };
    let mut command = Command::new("psql");
    command
        .arg(format!(
            "host=127.0.0.1 port={} user={user} dbname=meterlake{tls} {extra}",
            server.port
        ))
        .args(["-X", "-A", "-t", "-w", "-v", "VERBOSITY=verbose"])
        .env("PGPASSWORD", password)
        .env("PGCONNECT_TIMEOUT", "10");
    for statement in statements {
        command.args(["-c", statement]);
    }
    let out = command.output().expect("psql runs (postgresql-client)");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn psql_reads_the_lake_with_the_right_password_only() {
    let server = start().await;
    let (ok, out, err) = psql(
        &server,
        PASSWORD,
        &["SELECT meter_id, CAST(sum(energy_kwh) AS VARCHAR) FROM interval_energy GROUP BY meter_id ORDER BY meter_id"],
    );
    assert!(ok, "{err}");
    assert_eq!(out, "000000000001|0.50\n000000000002|0.50\n");
    let (ok, out, _) = psql(&server, PASSWORD, &["SELECT count(*) FROM readings"]);
    assert!(ok);
    assert_eq!(out.trim(), "6");

    let (ok, _, err) = psql(&server, "wrong", &["SELECT 1"]);
    assert!(!ok);
    assert!(
        err.to_lowercase()
            .contains("password authentication failed"),
        "{err}"
    );
    let (ok, _, err) = psql(&server, "", &["SELECT 1"]);
    assert!(!ok, "no password, no connection: {err}");
}

#[tokio::test]
async fn writes_files_and_settings_are_refused() {
    let server = start().await;
    let target = server._dir.path().join("exported.csv");
    let copy = format!("COPY (SELECT 1) TO '{}'", target.display());
    for statement in [
        "CREATE TABLE t (a INT)",
        "CREATE VIEW v AS SELECT 1",
        "CREATE EXTERNAL TABLE secrets (a TEXT) STORED AS TEXTFILE LOCATION '/etc/passwd'",
        "SELECT 1 INTO copied",
        "DROP VIEW interval_energy",
        "INSERT INTO readings (meter_id) VALUES ('1')",
        "DELETE FROM readings",
        copy.as_str(),
        "SET datafusion.runtime.memory_limit = '100G'",
        "SET datafusion.execution.batch_size = 1",
        "SET statement_timeout = 0",
        "RESET ALL",
    ] {
        let (ok, _, err) = psql(&server, PASSWORD, &[statement]);
        assert!(!ok, "{statement} must fail");
        assert!(
            err.contains("42501") && err.contains("read-only"),
            "{statement}: {err}"
        );
    }
    // DataFusion's own form does not even parse as PostgreSQL; either way nothing is created.
    let (ok, _, _) = psql(
        &server,
        PASSWORD,
        &["CREATE EXTERNAL TABLE secrets STORED AS CSV LOCATION '/etc/passwd'"],
    );
    assert!(!ok);
    let (ok, _, err) = psql(&server, PASSWORD, &["SELECT * FROM secrets"]);
    assert!(!ok && err.contains("not found"), "{err}");
    assert!(!target.exists(), "COPY wrote no file");
    // The catalog is as it was.
    let (ok, out, err) = psql(&server, PASSWORD, &["SELECT count(*) FROM interval_energy"]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "4");
}

#[tokio::test]
async fn a_long_streaming_query_is_cancelled_at_the_timeout_even_after_set() {
    let server = start().await;
    let (ok, _, err) = psql(
        &server,
        PASSWORD,
        &[
            "SET statement_timeout = 0",
            "SELECT value FROM generate_series(1, 100000000000) WHERE value % 1000000007 = 0",
        ],
    );
    assert!(!ok);
    assert!(err.contains("57014"), "{err}");
    assert!(err.contains("statement timeout"), "{err}");
}

#[tokio::test]
async fn the_memory_limit_is_an_error_and_the_server_lives_on() {
    let server = start().await;
    let (ok, _, err) = psql(
        &server,
        PASSWORD,
        &["SELECT value % 5000000 AS k, count(*) FROM generate_series(1, 20000000) GROUP BY 1 ORDER BY 2 DESC LIMIT 1"],
    );
    assert!(!ok);
    assert!(err.contains("53200") && err.contains("memory"), "{err}");
    let (ok, out, err) = psql(&server, PASSWORD, &["SELECT 41 + 1"]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "42");
}

#[test]
fn the_server_refuses_to_start_without_tls_unless_plaintext_is_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("meterlake.toml");
    std::fs::write(
        &config,
        format!(
            "[control]\ndatabase = \"sqlite://{0}/control.db\"\naudit_keys_dir = \"{0}/a\"\n\
             command_keys_dir = \"{0}/c\"\n",
            dir.path().display()
        ),
    )
    .unwrap();
    let out = command(&config).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("needs TLS"), "{err}");
}

#[tokio::test]
async fn only_users_whose_role_grants_sql_get_in_and_a_failing_address_is_barred() {
    let server = start().await;
    let (ok, _, err) = psql_as(&server, "till", PASSWORD, "", &["SELECT 1"]);
    assert!(!ok);
    assert!(err.contains("may not use the SQL endpoint"), "{err}");
    // Guessing across made-up names from one address: after ten failures even a right password from
    // that address is refused for a while.
    for i in 0..10 {
        let (ok, _, err) = psql_as(&server, &format!("guess{i}"), "nope", "", &["SELECT 1"]);
        assert!(!ok);
        assert!(
            err.to_lowercase()
                .contains("password authentication failed"),
            "{err}"
        );
    }
    let (ok, _, err) = psql(&server, PASSWORD, &["SELECT 1"]);
    assert!(!ok);
    assert!(err.contains("too many failed logins"), "{err}");
}

#[tokio::test]
async fn connections_over_the_cap_are_refused_until_one_ends() {
    let server = start_with(false, 1).await;
    // An interactive psql holds its connection while its input stays open.
    let mut holder = Command::new("psql")
        .arg(format!(
            "host=127.0.0.1 port={} user=analyst dbname=meterlake",
            server.port
        ))
        .args(["-X", "-A", "-t", "-w"])
        .env("PGPASSWORD", PASSWORD)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Once it answers a query, it holds the one slot.
    {
        use std::io::Write;
        let stdin = holder.stdin.as_mut().unwrap();
        stdin.write_all(b"SELECT 7;\n").unwrap();
        stdin.flush().unwrap();
    }
    let mut answer = String::new();
    BufReader::new(holder.stdout.as_mut().unwrap())
        .read_line(&mut answer)
        .unwrap();
    assert_eq!(answer.trim(), "7", "the holder is connected");
    let (ok, _, refused) = psql(&server, PASSWORD, &["SELECT 1"]);
    assert!(!ok);
    assert!(
        refused.contains("too many clients"),
        "the second connection is refused: {refused}"
    );
    drop(holder.stdin.take());
    assert!(holder.wait().unwrap().success());
    let (ok, out, err) = psql(&server, PASSWORD, &["SELECT 42"]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "42");
}

#[tokio::test]
async fn over_tls_plaintext_is_refused_and_a_client_refuses_another_certificate() {
    let server = start_with(true, 32).await;
    // verify-full: the client checked the server's certificate and name.
    let (ok, out, err) = psql(&server, PASSWORD, &["SELECT count(*) FROM readings"]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "6");
    let (ok, _, err) = psql_as(
        &server,
        "analyst",
        PASSWORD,
        "sslmode=disable",
        &["SELECT 1"],
    );
    assert!(!ok);
    assert!(err.contains("requires TLS"), "{err}");
    let other = tempfile::tempdir().unwrap();
    cli_ok(&["cert", "--dir", other.path().to_str().unwrap()], "");
    let (ok, _, err) = psql_as(
        &server,
        "analyst",
        PASSWORD,
        &format!(
            "sslmode=verify-full sslrootcert={}",
            other.path().join("cert.pem").display()
        ),
        &["SELECT 1"],
    );
    assert!(!ok);
    assert!(err.contains("certificate verify failed"), "{err}");
}
