//! `meterlake customers export` (customers' personal data to an encrypted Parquet file) and
//! `meterlake keys rotate` (a new personal-data key, every customer re-sealed under it).

use std::path::PathBuf;

use anyhow::Context;
use chrono::Utc;
use control::app::audit::Actor;
use ingest::keyring::KeyRing;

use crate::control_cli::use_cases;
use meterlake::Config;

/// Options of `meterlake customers`.
#[derive(Debug, clap::Args)]
pub struct CustomersArgs {
    #[command(subcommand)]
    command: CustomersCommand,
}

#[derive(Debug, clap::Subcommand)]
enum CustomersCommand {
    /// Write every customer's personal data to a Parquet file encrypted under the PII key (Parquet
    /// modular encryption; only holders of `control.pii_keys_dir` can read it).
    Export {
        /// The file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Read an export back with the PII keys and print how many customers it holds (values masked).
    Check {
        /// The export.
        #[arg(long)]
        file: PathBuf,
    },
}

/// Runs `meterlake customers …`.
pub async fn customers(config: &Config, args: CustomersArgs) -> anyhow::Result<()> {
    let control = use_cases(config).await?;
    match args.command {
        CustomersCommand::Export { out } => {
            let rows = control.customers_for_export(&Actor::cli()).await?;
            let written = control::pii_export::write(&out, &rows, control.pii_keys())?;
            println!(
                "{written} customers written to {} (encrypted with PII key {})",
                out.display(),
                control.pii_keys().active_id()
            );
        }
        CustomersCommand::Check { file } => {
            let rows = control::pii_export::read(&file, control.pii_keys())?;
            println!("{} customers in {}", rows.len(), file.display());
            for (meter, details) in rows.iter().take(5) {
                println!("  {meter}  {}", details.masked());
            }
        }
    }
    Ok(())
}

/// `meterlake keys rotate`: adds a new key to the PII key directory and re-seals every customer
/// under it. Old keys stay (older exports name them); remove one only when no export needs it.
pub async fn rotate(config: &Config) -> anyhow::Result<()> {
    let dir = config.control.pii_keys_path();
    let id = Utc::now().format("%Y%m%d%H%M%S").to_string();
    let path = KeyRing::generate(&dir, &id)
        .with_context(|| format!("writing a new key in {}", dir.display()))?;
    let control = use_cases(config).await?;
    anyhow::ensure!(
        control.pii_keys().active_id() == id,
        "the new key {id} does not sort last in {}",
        dir.display()
    );
    let resealed = control.reseal_customers(&Actor::cli()).await?;
    println!(
        "new personal-data key {id} at {}; {resealed} customers re-sealed under it",
        path.display()
    );
    Ok(())
}
