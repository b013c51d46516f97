//! A raw HTTP/1.1 client for the root tests (status and body of one request over a fresh connection)
//! and the command-line user bootstrap, shared by the tests that reach the services over HTTP.

#![allow(dead_code)] // each test uses a part

use std::process::{Command, Stdio};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One request to `127.0.0.1:port` with an optional bearer token; (status, body), or `None` when
/// nothing answers.
pub async fn request(
    port: u16,
    token: Option<&str>,
    method: &str,
    path: &str,
    body: &str,
) -> Option<(u16, String)> {
    let authorization = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .ok()?;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: t\r\n{authorization}Content-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.ok()?;
    let response = String::from_utf8_lossy(&response).to_string();
    let status = response.get(9..12)?.parse().ok()?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .unwrap_or_default();
    Some((status, body))
}

/// The body of `GET path` with `token`; the answer must be 200.
pub async fn get_ok(port: u16, token: &str, path: &str) -> String {
    let (status, body) = request(port, Some(token), "GET", path, "")
        .await
        .unwrap_or_else(|| panic!("nothing answers on port {port}"));
    assert_eq!(status, 200, "GET {path}: {body}");
    body
}

/// The `meterlake` binary children run: `METERLAKE_SOAK_BIN` (a copy a long run keeps while the
/// workspace is rebuilt), else the one cargo built for this test.
pub fn meterlake_binary() -> String {
    std::env::var("METERLAKE_SOAK_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_meterlake").to_string())
}

/// Runs `meterlake <args>` with environment `env` and `stdin`; returns standard output (panics
/// unless it succeeds).
pub fn run(env: &[(String, String)], args: &[&str], stdin: &str) -> String {
    use std::io::Write;
    // An embedded broker of a test running beside this one may be going down (see `spawn_child`).
    let spawned = {
        let mut command = Command::new(meterlake_binary());
        // The test's own METERLAKE_* settings (trial counts, report files) are not the child's.
        for (name, _) in std::env::vars() {
            if name.starts_with("METERLAKE_") {
                command.env_remove(name);
            }
        }
        command
            .args(args)
            .envs(env.iter().cloned())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        ingest::kafka::EmbeddedKafka::spawn_child(&mut command)
    };
    let mut child = spawned.unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "meterlake {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// The arguments of `meterlake audit export` over all time.
pub const AUDIT_EXPORT_ALL: [&str; 6] = [
    "audit",
    "export",
    "--from",
    "2000-01-01T00:00:00Z",
    "--to",
    "2100-01-01T00:00:00Z",
];

/// Runs `meterlake --config <config> <args>` with `stdin`; returns standard output.
pub fn cli(config: &std::path::Path, args: &[&str], stdin: &str) -> String {
    let config = config.to_str().unwrap();
    run(&[], &[&["--config", config][..], args].concat(), stdin)
}

/// Makes a user at the command line (the first-admin bootstrap) and returns a fresh API token.
pub fn user_with_token(config: &std::path::Path, name: &str, role: &str) -> String {
    cli(
        config,
        &["user", "add", name, "--role", role],
        "correct horse battery staple\n",
    );
    cli(config, &["user", "token", name, "--label", "test"], "")
}
