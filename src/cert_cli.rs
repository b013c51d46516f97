//! `meterlake cert`: a self-signed TLS certificate and its key (PEM) for the listeners' `[tls]`
//! section, for a lab or until the utility's own CA issues one. Clients trust the certificate file
//! itself (psql `sslrootcert=…`, a browser's exception).

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;

/// Options of `meterlake cert`.
#[derive(Debug, clap::Args)]
pub struct CertArgs {
    /// Directory to write `cert.pem` and `key.pem` into.
    #[arg(long, default_value = "meterlake-data/tls")]
    dir: PathBuf,
    /// A host name or IP address the certificate is for (repeat for more).
    #[arg(long = "name", default_values_t = ["localhost".to_string(), "127.0.0.1".to_string()])]
    names: Vec<String>,
    /// Replace existing files.
    #[arg(long)]
    force: bool,
}

/// Writes the pair and prints where it went and the `[tls]` lines that use it.
pub fn run(args: CertArgs) -> anyhow::Result<()> {
    let (cert_path, key_path) = (args.dir.join("cert.pem"), args.dir.join("key.pem"));
    if !args.force && (cert_path.exists() || key_path.exists()) {
        anyhow::bail!(
            "{} or {} exists already; pass --force to replace them",
            cert_path.display(),
            key_path.display()
        );
    }
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(args.names.clone())
            .context("making the certificate (names must be host names or IP addresses)")?;
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("creating {}", args.dir.display()))?;
    std::fs::write(&cert_path, cert.pem())
        .with_context(|| format!("writing {}", cert_path.display()))?;
    let mut key_file = open_private(&key_path)?;
    key_file
        .write_all(signing_key.serialize_pem().as_bytes())
        .with_context(|| format!("writing {}", key_path.display()))?;
    println!(
        "self-signed certificate for {} (ECDSA P-256)\n[tls]\ncert = \"{}\"\nkey = \"{}\"",
        args.names.join(", "),
        cert_path.display(),
        key_path.display()
    );
    Ok(())
}

/// Creates (or truncates) a file only its owner can read.
fn open_private(path: &std::path::Path) -> anyhow::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))
}
