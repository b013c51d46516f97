//! TLS for the system's listeners (the control API, collectors' and sinks' HTTP, the SQL endpoint):
//! a rustls server configuration from PEM files, always on the `ring` provider (the dependency graph
//! enables two providers, so none is picked implicitly).

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::ControlError;

/// ALPN protocols of an HTTP listener.
pub const HTTP_ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];
/// ALPN protocol of the PostgreSQL endpoint (PostgreSQL 17's direct TLS negotiation).
pub const POSTGRES_ALPN: [&[u8]; 1] = [b"postgresql"];

/// The process's crypto provider: `ring`.
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Makes `ring` the process-wide default provider (for libraries that build rustls configurations
/// themselves); harmless when one is installed already.
pub fn install_default_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A server configuration serving the certificate chain in `cert` with the key in `key` (PEM files),
/// offering `alpn` protocols.
pub fn server_config(
    cert: &Path,
    key: &Path,
    alpn: &[&[u8]],
) -> Result<Arc<rustls::ServerConfig>, ControlError> {
    let bad = |what: &str, path: &Path, err: &dyn std::fmt::Display| {
        ControlError::Invalid(format!("TLS {what} {}: {err}", path.display()))
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(|e| bad("certificate", cert, &e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad("certificate", cert, &e))?;
    if chain.is_empty() {
        return Err(bad("certificate", cert, &"no certificate in the file"));
    }
    let private = PrivateKeyDer::from_pem_file(key).map_err(|e| bad("key", key, &e))?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| bad("setup for", cert, &e))?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .map_err(|e| bad("certificate and key", cert, &e))?;
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

/// The TLS files a listener is configured with: `Some((cert, key))`, `None` for plaintext, an error
/// when only one of the two is set.
pub fn configured<'a>(
    cert: &'a str,
    key: &'a str,
    section: &str,
) -> Result<Option<(&'a Path, &'a Path)>, ControlError> {
    match (cert.trim().is_empty(), key.trim().is_empty()) {
        (true, true) => Ok(None),
        (false, false) => Ok(Some((Path::new(cert), Path::new(key)))),
        _ => Err(ControlError::Invalid(format!(
            "{section}.tls_cert and {section}.tls_key go together: set both or neither"
        ))),
    }
}
