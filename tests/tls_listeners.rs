//! TLS on the HTTP listeners: `meterlake control run` with a `[tls]` certificate from `meterlake cert`
//! answers a client that trusts that certificate, a client trusting another certificate refuses the
//! handshake, plaintext HTTP gets no answer, and without `[tls]` (and without `allow_plaintext`) the
//! service refuses to start.

mod http_support;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use ingest::kafka::{EmbeddedKafka, Topics};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// `GET path` over TLS, trusting only the certificate in `trusted`; the response text, or the error.
async fn get_over_tls(
    port: u16,
    trusted: &std::path::Path,
    token: &str,
    path: &str,
) -> Result<String, String> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(trusted).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| e.to_string())?;
    let mut tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .map_err(|e| e.to_string())?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    );
    tls.write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut response = Vec::new();
    // A server may close without close_notify after a complete response: keep what arrived.
    let _ = tls.read_to_end(&mut response).await;
    Ok(String::from_utf8_lossy(&response).to_string())
}

fn config(dir: &std::path::Path, brokers: &str, port: u16, tls: bool) -> std::path::PathBuf {
    let tls = if tls {
        format!(
            "[tls]\ncert = \"{0}/tls/cert.pem\"\nkey = \"{0}/tls/key.pem\"\n",
            dir.display()
        )
    } else {
        String::new()
    };
    let path = dir.join(if tls.is_empty() {
        "plain.toml"
    } else {
        "tls.toml"
    });
    std::fs::write(
        &path,
        format!(
            "[kafka]\nbrokers = \"{brokers}\"\n[lake]\nlocation = \"{0}/lake\"\n\
             [control]\ndatabase = \"sqlite://{0}/control.db\"\nlisten = \"127.0.0.1:{port}\"\n\
             audit_keys_dir = \"{0}/keys/audit\"\ncommand_keys_dir = \"{0}/keys/commands\"\nbilling_every_s = 0\n{tls}",
            dir.display()
        ),
    )
    .unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_control_api_speaks_tls_and_a_client_refuses_a_certificate_it_does_not_trust() {
    let kafka = EmbeddedKafka::start(1, &Topics::with_prefix(""), 1).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();

    // Without a certificate and without allow_plaintext the service will not listen.
    let plain = config(dir.path(), &kafka.bootstrap_servers(), port, false);
    let out = Command::new(env!("CARGO_BIN_EXE_meterlake"))
        .args(["--config", plain.to_str().unwrap(), "control", "run"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("needs TLS"), "{err}");

    let printed = http_support::cli(
        &plain,
        &["cert", "--dir", dir.path().join("tls").to_str().unwrap()],
        "",
    );
    assert!(printed.contains("[tls]"), "{printed}");
    let key_mode = std::fs::metadata(dir.path().join("tls/key.pem"))
        .unwrap()
        .permissions();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&key_mode) & 0o777,
        0o600
    );
    let with_tls = config(dir.path(), &kafka.bootstrap_servers(), port, true);
    let admin = http_support::user_with_token(&with_tls, "root", "admin");
    let mut child = Command::new(env!("CARGO_BIN_EXE_meterlake"))
        .args(["--config", with_tls.to_str().unwrap(), "control", "run"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let cert = dir.path().join("tls/cert.pem");
    let mut answer = Err("not started".to_string());
    for _ in 0..600 {
        answer = get_over_tls(port, &cert, &admin, "/api/me").await;
        if answer.as_ref().is_ok_and(|r| r.starts_with("HTTP/1.1 200")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let answer = answer.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    // A client that trusts another certificate refuses the server.
    let other = tempfile::tempdir().unwrap();
    http_support::cli(
        &plain,
        &["cert", "--dir", other.path().to_str().unwrap()],
        "",
    );
    let refused = get_over_tls(port, &other.path().join("cert.pem"), &admin, "/healthz").await;
    let err = refused.expect_err("the handshake fails");
    assert!(err.contains("invalid peer certificate"), "{err}");

    // Plaintext HTTP to the TLS port gets no HTTP answer.
    let plaintext = http_support::request(port, Some(&admin), "GET", "/healthz", "").await;
    assert!(
        plaintext.as_ref().is_none_or(|(status, _)| *status != 200),
        "{plaintext:?}"
    );
    child.kill().unwrap();
    child.wait().unwrap();
}
