//! `meterlake sql`: statements against the lake, from the command line, from standard input, or typed
//! at an interactive prompt (multi-line statements ended by `;`, with history), printed as a table, CSV,
//! JSON or written as Parquet.

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;

use anyhow::Context;
use meterlake::sql_text::split_statements;
use meterlake::table_output::{write_batches, OutputFormat};
use meterlake::Config;

/// Options of `meterlake sql`.
#[derive(Debug, clap::Args)]
pub struct SqlArgs {
    /// The statement(s), separated by `;`. Without them, statements are read from standard input, or
    /// typed at a prompt when it is a terminal.
    query: Option<String>,
    /// Read the table as of a Delta version (`42`) or a time (`2026-10-01T08:00:00Z`, or
    /// `2026-10-01 16:00:00` in the lake's zone): time travel.
    #[arg(long)]
    as_of: Option<String>,
    /// Output format (`parquet` needs `--output`).
    #[arg(long, value_enum, default_value = "table")]
    format: OutputFormat,
    /// Write results to this file instead of standard output (the last statement's result).
    #[arg(long, short)]
    output: Option<PathBuf>,
}

/// Runs `meterlake sql`.
pub async fn run(config: &Config, args: SqlArgs) -> anyhow::Result<()> {
    if args.format == OutputFormat::Parquet && args.output.is_none() {
        anyhow::bail!("--format parquet writes a file: name it with --output FILE");
    }
    let session = open_session(config, args.as_of.as_deref()).await?;
    let output = Output {
        format: args.format,
        file: args.output,
    };
    match args.query {
        Some(text) => run_text(&session, &text, &output).await,
        None if std::io::stdin().is_terminal() => interactive(&session, &output).await,
        None => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("reading statements from standard input")?;
            run_text(&session, &text, &output).await
        }
    }
}

/// Where and how results go.
struct Output {
    format: OutputFormat,
    file: Option<PathBuf>,
}

/// Runs every statement of `text` in order, stopping at the first that fails.
async fn run_text(
    session: &analytics::LakeSession,
    text: &str,
    output: &Output,
) -> anyhow::Result<()> {
    let (mut statements, rest) = split_statements(text);
    if !meterlake::sql_text::is_blank(&rest) {
        statements.push(rest.trim().to_string());
    }
    if statements.is_empty() {
        anyhow::bail!("no SQL statement given");
    }
    let many = statements.len() > 1;
    for (number, statement) in statements.iter().enumerate() {
        run_one(session, statement, output).await.with_context(|| {
            if many {
                format!("statement {} failed", number + 1)
            } else {
                "query failed".to_string()
            }
        })?;
    }
    Ok(())
}

/// Runs one statement and prints or writes its result.
async fn run_one(
    session: &analytics::LakeSession,
    statement: &str,
    output: &Output,
) -> anyhow::Result<()> {
    let batches = session.query(statement).await?;
    match &output.file {
        Some(path) => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("creating {}", path.display()))?;
            let mut file = std::io::BufWriter::new(file);
            write_batches(&batches, output.format, &mut file)?;
            file.flush()?;
            let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
            eprintln!("({rows} rows written to {})", path.display());
        }
        None => {
            let mut out = std::io::stdout();
            write_batches(&batches, output.format, &mut out)?;
            if output.format == OutputFormat::Table {
                writeln!(out)?;
                match session.lake_version() {
                    Some(version) => eprintln!("(lake version {version})"),
                    None => eprintln!("(the lake is empty)"),
                }
            }
            out.flush()?;
        }
    }
    Ok(())
}

/// The prompt: statements end with `;` and may span lines; errors are printed and the prompt goes on.
/// `\q` (or Ctrl-D) leaves; Ctrl-C drops the statement being typed. History is kept in
/// `~/.meterlake_history`.
async fn interactive(session: &analytics::LakeSession, output: &Output) -> anyhow::Result<()> {
    use rustyline::error::ReadlineError;
    let mut editor = rustyline::DefaultEditor::new().context("starting the prompt")?;
    let history = std::env::var_os("HOME")
        .map(|home| PathBuf::from(home).join(".meterlake_history"))
        .unwrap_or_else(|| PathBuf::from(".meterlake_history"));
    let _ = editor.load_history(&history);
    eprintln!(
        "meterlake SQL on lake version {} — end statements with ;  \\q quits",
        session
            .lake_version()
            .map_or_else(|| "none (empty)".to_string(), |v| v.to_string())
    );
    let mut pending = String::new();
    loop {
        let prompt = if pending.trim().is_empty() {
            "meterlake> "
        } else {
            "       ..> "
        };
        match editor.readline(prompt) {
            Ok(line) => {
                if pending.trim().is_empty() && matches!(line.trim(), "\\q" | "quit" | "exit") {
                    break;
                }
                pending.push_str(&line);
                pending.push('\n');
                let (statements, rest) = split_statements(&pending);
                if !statements.is_empty() {
                    let _ = editor.add_history_entry(pending.trim());
                }
                for statement in statements {
                    if let Err(err) = run_one(session, &statement, output).await {
                        eprintln!("error: {err:#}");
                    }
                }
                pending = rest;
            }
            Err(ReadlineError::Interrupted) => pending.clear(),
            Err(ReadlineError::Eof) => break,
            Err(err) => return Err(err).context("reading the prompt"),
        }
    }
    if let Err(err) = editor.save_history(&history) {
        tracing::debug!(%err, "could not save the SQL history");
    }
    Ok(())
}

/// A session over the lake at its newest version, or as of a version or time.
async fn open_session(
    config: &Config,
    as_of: Option<&str>,
) -> anyhow::Result<analytics::LakeSession> {
    let zone = store::partition::parse_zone(&config.lake.zone)?;
    let location = store::LakeLocation::parse(&config.lake.location)?;
    let registry = Some(std::path::Path::new(&config.lake.registry));
    let session = match as_of.map(|text| parse_as_of(text, zone)).transpose()? {
        None => analytics::LakeSession::open_with_registry(&location, zone, None, registry).await?,
        Some(AsOf::Version(version)) => {
            analytics::LakeSession::open_with_registry(&location, zone, Some(version), registry)
                .await?
        }
        Some(AsOf::Time(at)) => {
            let lake = store::Lake::open_at_time(&location, zone, at)
                .await
                .with_context(|| format!("no lake version at or before {at}"))?;
            analytics::LakeSession::from_lake_with_registry(&lake, zone, registry).await?
        }
    };
    session.register_derived().await?;
    Ok(session)
}

/// What `--as-of` names.
enum AsOf {
    Version(i64),
    Time(chrono::DateTime<chrono::Utc>),
}

/// A version number, an RFC 3339 time, or a local `YYYY-MM-DD HH:MM:SS` in the lake's zone.
fn parse_as_of(text: &str, zone: chrono_tz::Tz) -> anyhow::Result<AsOf> {
    if let Ok(version) = text.trim().parse::<i64>() {
        return Ok(AsOf::Version(version));
    }
    if let Ok(at) = chrono::DateTime::parse_from_rfc3339(text.trim()) {
        return Ok(AsOf::Time(at.with_timezone(&chrono::Utc)));
    }
    let local = chrono::NaiveDateTime::parse_from_str(text.trim(), "%Y-%m-%d %H:%M:%S")
        .with_context(|| {
            format!("--as-of {text:?}: expected a version, an RFC 3339 time or YYYY-MM-DD HH:MM:SS")
        })?;
    let at = local
        .and_local_timezone(zone)
        .earliest()
        .with_context(|| format!("--as-of {text:?} does not exist in {zone}"))?;
    Ok(AsOf::Time(at.with_timezone(&chrono::Utc)))
}
