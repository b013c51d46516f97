//! `meterlake report load`: a transformer area's load report for planners, as one HTML page with charts,
//! or as CSV/JSON for machines.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use analytics::report::labels::Language;
use analytics::report::{build_load_report, export, html, LoadReportRequest};
use anyhow::Context;
use chrono::NaiveDate;
use indicatif::{ProgressBar, ProgressStyle};
use meterlake::Config;

/// Reports.
#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    #[command(subcommand)]
    report: Report,
}

#[derive(Debug, clap::Subcommand)]
enum Report {
    /// Load statistics of one transformer area over a range of local dates.
    Load(LoadArgs),
}

/// Output formats of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ReportFormat {
    /// One self-contained page with SVG charts.
    Html,
    /// `section,subject,metric,value` rows.
    Csv,
    /// The whole report as one JSON document.
    Json,
}

/// The language of an HTML report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ReportLanguage {
    /// 中文.
    Zh,
    /// English.
    En,
}

impl From<ReportLanguage> for Language {
    fn from(lang: ReportLanguage) -> Self {
        match lang {
            ReportLanguage::Zh => Language::Zh,
            ReportLanguage::En => Language::En,
        }
    }
}

/// Options of `meterlake report load`.
#[derive(Debug, clap::Args)]
struct LoadArgs {
    /// Transformer area (`area_id` in the registry's meters.csv).
    #[arg(long)]
    area: String,
    /// First local date, YYYY-MM-DD.
    #[arg(long)]
    from: NaiveDate,
    /// Last local date (inclusive), YYYY-MM-DD.
    #[arg(long)]
    to: NaiveDate,
    /// Output format.
    #[arg(long, value_enum, default_value = "html")]
    format: ReportFormat,
    /// Language of the HTML report.
    #[arg(long, value_enum, default_value = "zh")]
    lang: ReportLanguage,
    /// How many top consumers to list.
    #[arg(long, default_value_t = 10)]
    top: usize,
    /// Write the report here instead of standard output.
    #[arg(long, short)]
    output: Option<PathBuf>,
}

/// Runs `meterlake report ...`.
pub async fn run(config: &Config, args: ReportArgs) -> anyhow::Result<()> {
    match args.report {
        Report::Load(args) => load(config, args).await,
    }
}

async fn load(config: &Config, args: LoadArgs) -> anyhow::Result<()> {
    let zone = store::partition::parse_zone(&config.lake.zone)?;
    let location = store::LakeLocation::parse(&config.lake.location)?;
    let registry = std::path::Path::new(&config.lake.registry);
    let bar = ProgressBar::new(6).with_style(
        ProgressStyle::with_template("{spinner} [{pos}/{len}] {msg} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    bar.set_message("opening the lake");
    let session =
        analytics::LakeSession::open_with_registry(&location, zone, None, Some(registry)).await?;
    let request = LoadReportRequest {
        area: args.area.clone(),
        from: args.from,
        to: args.to,
        top_n: args.top,
    };
    let mut step = |name: &str| {
        bar.inc(1);
        bar.set_message(name.to_string());
    };
    let report = build_load_report(&session, &request, &mut step)
        .await
        .with_context(|| format!("load report for area {}", args.area))?;
    bar.finish_and_clear();
    let text = match args.format {
        ReportFormat::Html => html::render(&report, args.lang.into()),
        ReportFormat::Csv => export::to_csv(&report),
        ReportFormat::Json => export::to_json(&report)?,
    };
    match args.output {
        Some(path) => {
            std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
            eprintln!(
                "load report for area {} ({} to {}) written to {}",
                report.area_id,
                report.from,
                report.to,
                path.display()
            );
        }
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()?;
        }
    }
    Ok(())
}
