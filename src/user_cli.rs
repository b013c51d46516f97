//! `meterlake user …` (users, roles, tokens), `meterlake audit …` (verify, export) and
//! `meterlake keys new`. These act on the control database directly: whoever runs them on the
//! service's host with its configuration is trusted, which is how the first admin is made.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use anyhow::Context;
use chrono::{DateTime, Utc};
use control::app::audit::Actor;
use control::domain::access::Role;
use control::secrets::Password;
use ingest::keyring::KeyRing;

use crate::control_cli::use_cases;
use meterlake::Config;

/// `meterlake user …`
#[derive(Debug, clap::Args)]
pub struct UserArgs {
    #[command(subcommand)]
    command: UserCommand,
}

#[derive(Debug, clap::Subcommand)]
enum UserCommand {
    /// Every user with role and status.
    List,
    /// Add a user; the password is read from standard input (one line).
    Add {
        /// Login name (a-z, 0-9, '.', '_', '-').
        name: String,
        /// admin, operator, cashier, analyst, maintenance, auditor or customer.
        #[arg(long)]
        role: Role,
        /// A customer's meter (repeat for several).
        #[arg(long = "meter")]
        meters: Vec<String>,
    },
    /// Give a user another role (their sessions and tokens end).
    Role {
        /// Login name.
        name: String,
        /// The new role.
        role: Role,
    },
    /// Disable a user (every session and token ends at once).
    Disable {
        /// Login name.
        name: String,
    },
    /// Enable a disabled user.
    Enable {
        /// Login name.
        name: String,
    },
    /// Set a new password, read from standard input (sessions and tokens end; a lockout lifts).
    Password {
        /// Login name.
        name: String,
    },
    /// Issue an API token; it is printed once and stored only as a hash.
    Token {
        /// Login name.
        name: String,
        /// What the token is for.
        #[arg(long)]
        label: String,
        /// Days until it expires (default: until revoked).
        #[arg(long)]
        days: Option<u32>,
    },
    /// A user's tokens (ids, labels, expiry; never secrets).
    Tokens {
        /// Login name.
        name: String,
    },
    /// Revoke a token or session by id.
    Revoke {
        /// Token id.
        id: String,
    },
}

/// `meterlake audit …`
#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    command: AuditCommand,
}

#[derive(Debug, clap::Subcommand)]
enum AuditCommand {
    /// Check every record's link, hash and MAC; exits non-zero at the first broken link.
    Verify,
    /// Write the records of a time range as JSON lines.
    Export {
        /// From (RFC 3339, inclusive).
        #[arg(long)]
        from: DateTime<Utc>,
        /// To (RFC 3339, exclusive).
        #[arg(long)]
        to: DateTime<Utc>,
        /// Output file (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// `meterlake keys …`
#[derive(Debug, clap::Args)]
pub struct KeysArgs {
    #[command(subcommand)]
    command: KeysCommand,
}

#[derive(Debug, clap::Subcommand)]
enum KeysCommand {
    /// Write a new random HMAC key `<dir>/<id>.key`; the newest id signs from the next start.
    New {
        /// Key directory (e.g. `control.command_keys_dir` or `control.audit_keys_dir`).
        #[arg(long)]
        dir: PathBuf,
        /// Key id (default: today's date and time, so it sorts after older keys).
        #[arg(long)]
        id: Option<String>,
    },
    /// Add a new personal-data key (`control.pii_keys_dir`) and re-seal every customer under it.
    Rotate,
}

fn read_password() -> anyhow::Result<Password> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let text = line.trim_end_matches(['\r', '\n']);
    anyhow::ensure!(!text.is_empty(), "no password on standard input");
    Ok(Password::new(text))
}

/// Runs `meterlake user …`.
pub async fn user(config: &Config, args: UserArgs) -> anyhow::Result<()> {
    let control = use_cases(config).await?;
    let actor = Actor::cli();
    match args.command {
        UserCommand::List => {
            for u in control.users().await? {
                println!(
                    "{:<24} {:<12} {}{}",
                    u.username,
                    u.role.as_str(),
                    if u.disabled { "disabled" } else { "enabled" },
                    u.locked_until
                        .filter(|t| *t > Utc::now())
                        .map(|t| format!(", locked until {}", t.to_rfc3339()))
                        .unwrap_or_default()
                );
            }
        }
        UserCommand::Add { name, role, meters } => {
            let password = read_password()?;
            let user = control
                .add_user(&actor, &name, role, &password, &meters)
                .await?;
            println!("user {} added with role {}", user.username, user.role);
        }
        UserCommand::Role { name, role } => {
            control.set_role(&actor, &name, role).await?;
            println!("user {name} is now {role}; their sessions and tokens were revoked");
        }
        UserCommand::Disable { name } => {
            control.set_disabled(&actor, &name, true).await?;
            println!("user {name} disabled; their sessions and tokens were revoked");
        }
        UserCommand::Enable { name } => {
            control.set_disabled(&actor, &name, false).await?;
            println!("user {name} enabled");
        }
        UserCommand::Password { name } => {
            let password = read_password()?;
            control.reset_password(&actor, &name, &password).await?;
            println!("password of {name} set; their sessions and tokens were revoked");
        }
        UserCommand::Token { name, label, days } => {
            let issued = control.issue_token(&actor, &name, &label, days).await?;
            eprintln!(
                "token {} for {name} ({label}); shown once, store it now:",
                issued.credential.id
            );
            println!("{}", issued.secret);
        }
        UserCommand::Tokens { name } => {
            for t in control.tokens_of(&name).await? {
                println!(
                    "{}  {:<20} issued {}  {}",
                    t.id,
                    t.label,
                    t.created_at.to_rfc3339(),
                    match (t.revoked_at, t.expires_at) {
                        (Some(r), _) => format!("revoked {}", r.to_rfc3339()),
                        (None, Some(e)) => format!("expires {}", e.to_rfc3339()),
                        (None, None) => "no expiry".into(),
                    }
                );
            }
        }
        UserCommand::Revoke { id } => {
            control.revoke_credential(&actor, &id).await?;
            println!("revoked {id}");
        }
    }
    Ok(())
}

/// Runs `meterlake audit …`.
pub async fn audit(config: &Config, args: AuditArgs) -> anyhow::Result<()> {
    let control = use_cases(config).await?;
    match args.command {
        AuditCommand::Verify => {
            let report = control.verify_audit().await?;
            match report.broken {
                None => {
                    println!(
                        "audit trail intact: {} records, head {}",
                        report.records, report.head.1
                    );
                    Ok(())
                }
                Some(broken) => {
                    println!(
                        "audit trail BROKEN at record {}: {}",
                        broken.seq, broken.why
                    );
                    anyhow::bail!("the audit trail does not verify")
                }
            }
        }
        AuditCommand::Export { from, to, out } => {
            let mut sink: Box<dyn Write> = match &out {
                Some(path) => Box::new(std::io::BufWriter::new(
                    std::fs::File::create(path)
                        .with_context(|| format!("creating {}", path.display()))?,
                )),
                None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
            };
            let mut failed = None;
            let count = control
                .export_audit(from, to, |record| {
                    let line = serde_json::to_string(record).unwrap_or_default();
                    if let Err(e) = writeln!(sink, "{line}") {
                        failed.get_or_insert(e);
                    }
                    Ok(())
                })
                .await?;
            if let Some(e) = failed {
                return Err(e).context("writing the export");
            }
            sink.flush().context("writing the export")?;
            eprintln!("{count} audit records exported");
            Ok(())
        }
    }
}

/// Runs `meterlake keys …`.
pub async fn keys(config: &Config, args: KeysArgs) -> anyhow::Result<()> {
    match args.command {
        KeysCommand::Rotate => crate::customers_cli::rotate(config).await,
        KeysCommand::New { dir, id } => {
            let id = id.unwrap_or_else(|| Utc::now().format("%Y%m%d%H%M%S").to_string());
            let path = KeyRing::generate(&dir, &id)?;
            println!(
                "new key {id} at {}; copy it to every service that checks it before the ones that sign",
                path.display()
            );
            Ok(())
        }
    }
}
