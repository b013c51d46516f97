//! `meterlake model …`: train, score and evaluate the prediction models (`docs/prediction.md`) over the
//! configured lake and registry.

use std::path::{Path, PathBuf};

use analytics::prediction::clusters::day_curves;
use analytics::prediction::days::load;
use analytics::prediction::evaluate::evaluate;
use analytics::prediction::forest::ForestParams;
use analytics::prediction::model_file::Payload;
use analytics::prediction::score::{classify, score, ClassRow, ScoreRow};
use analytics::prediction::tables::{classes_batch, reasons_text, scores_batch, write};
use analytics::prediction::train::{train_anomaly, train_clusters, train_failure, train_theft};
use analytics::prediction::{Labels, ModelFile, ModelKind, TheftTruth};
use anyhow::Context;

use meterlake::day_range::{lake_session, DayRange};
use meterlake::Config;

/// `meterlake model …`
#[derive(Debug, clap::Args)]
pub struct ModelArgs {
    #[command(subcommand)]
    command: ModelCommand,
}

#[derive(Debug, clap::Subcommand)]
enum ModelCommand {
    /// Train a model over local dates FROM..=TO (theft and failure read their answers from --labels).
    Train {
        /// theft, anomaly, clusters or failure.
        kind: ModelKind,
        #[command(flatten)]
        days: DayRange,
        /// Where to write the model file (default: KIND.model.json).
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Directory holding theft.csv / faults.csv (default: lake.registry).
        #[arg(long)]
        labels: Option<PathBuf>,
        /// Seed of every random choice.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Trees of a forest.
        #[arg(long, default_value_t = 60)]
        trees: usize,
        /// Clusters (clusters model).
        #[arg(long, default_value_t = 5)]
        clusters: usize,
        /// Days ahead the failure model predicts.
        #[arg(long, default_value_t = 14)]
        horizon_days: u32,
    },
    /// Score every customer meter over FROM..=TO; the scores also go to the lake's table.
    Score {
        /// theft, anomaly, clusters or failure.
        kind: ModelKind,
        #[command(flatten)]
        days: DayRange,
        /// Model file (default: the shipped theft model; anomaly and clusters fit on the window).
        #[arg(long)]
        model: Option<PathBuf>,
        /// table, csv or json.
        #[arg(long, default_value = "table")]
        format: OutputFormat,
        /// Write here instead of standard output.
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Rows shown by the table format.
        #[arg(long, default_value_t = 20)]
        top: usize,
        /// Seed for models fitted on the window.
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Evaluate on a lake whose answers are known (a simulated fleet with a seed not used in training).
    Evaluate {
        #[command(flatten)]
        days: DayRange,
        /// Theft model (default: the shipped one).
        #[arg(long)]
        theft_model: Option<PathBuf>,
        /// Failure model (no failure evaluation without one).
        #[arg(long)]
        failure_model: Option<PathBuf>,
        /// Directory holding theft.csv, faults.csv, households.csv (default: lake.registry).
        #[arg(long)]
        labels: Option<PathBuf>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Seed for models fitted on the window.
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
}

/// How `model score` prints its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum OutputFormat {
    /// The top rows, aligned.
    Table,
    /// Every row, with a header.
    Csv,
    /// Every row as a JSON array.
    Json,
}

/// Runs `meterlake model`.
pub async fn run(config: &Config, args: ModelArgs) -> anyhow::Result<()> {
    match args.command {
        ModelCommand::Train {
            kind,
            days,
            output,
            labels,
            seed,
            trees,
            clusters,
            horizon_days,
        } => {
            anyhow::ensure!(
                (1..=1000).contains(&trees),
                "--trees must be in 1..=1000, not {trees}"
            );
            anyhow::ensure!(
                (2..=50).contains(&clusters),
                "--clusters must be in 2..=50, not {clusters}"
            );
            anyhow::ensure!(
                (1..=365).contains(&horizon_days),
                "--horizon-days must be in 1..=365, not {horizon_days}"
            );
            let session = lake_session(config).await?;
            let fleet = load(&session, days.from, days.to).await?;
            let labels_dir = labels.unwrap_or_else(|| PathBuf::from(&config.lake.registry));
            let params = ForestParams {
                trees,
                ..ForestParams::default()
            };
            let model = match kind {
                ModelKind::Theft => train_theft(&fleet, &read_labels(&labels_dir)?, params, seed)?,
                ModelKind::Failure => train_failure(
                    &fleet,
                    &read_labels(&labels_dir)?,
                    horizon_days,
                    params,
                    seed,
                )?,
                ModelKind::Anomaly => train_anomaly(&fleet, seed)?,
                ModelKind::Clusters => {
                    let curves = day_curves(&session, days.from, days.to).await?;
                    train_clusters(&fleet, &curves, clusters, seed)?
                }
            };
            let path = output.unwrap_or_else(|| PathBuf::from(format!("{kind}.model.json")));
            model.save(&path)?;
            println!(
                "{} trained on {} rows ({} positive), {}..={} at lake version {}: {}",
                model.version,
                model.training.rows,
                model.training.positives,
                days.from,
                days.to,
                model
                    .training
                    .lake_version
                    .map_or("-".to_string(), |v| v.to_string()),
                path.display()
            );
            for (name, value) in &model.metrics {
                println!("  {name}: {value:.4}");
            }
            Ok(())
        }
        ModelCommand::Score {
            kind,
            days,
            model,
            format,
            output,
            top,
            seed,
        } => {
            let session = lake_session(config).await?;
            let fleet = load(&session, days.from, days.to).await?;
            let location = store::LakeLocation::parse(&config.lake.location)?;
            let text = if kind == ModelKind::Clusters {
                let curves = day_curves(&session, days.from, days.to).await?;
                let model = match &model {
                    Some(path) => ModelFile::load(path)?.expect_kind(kind)?,
                    None => train_clusters(&fleet, &curves, 5, seed)?,
                };
                let Payload::Clusters(clusters) = &model.model else {
                    anyhow::bail!("the clusters model has no centres");
                };
                let rows = classify(&curves, clusters);
                write(
                    &location,
                    kind.table(),
                    days.to,
                    classes_batch(&rows, &model, days.from, days.to)?,
                )
                .await?;
                render_classes(&rows, format, top)?
            } else {
                let model = match (&model, kind) {
                    (Some(path), _) => ModelFile::load(path)?.expect_kind(kind)?,
                    (None, ModelKind::Theft) => ModelFile::default_theft()?,
                    (None, ModelKind::Anomaly) => train_anomaly(&fleet, seed)?,
                    (None, _) => anyhow::bail!("the {kind} model needs --model FILE (train one with `meterlake model train {kind}`)"),
                };
                let rows = score(&fleet, &model)?;
                write(
                    &location,
                    kind.table(),
                    days.to,
                    scores_batch(&rows, &model, days.from, days.to)?,
                )
                .await?;
                eprintln!(
                    "{} meters scored with {} into the lake's {}",
                    rows.len(),
                    model.version,
                    kind.table()
                );
                render_scores(&rows, format, top)?
            };
            match output {
                Some(path) => std::fs::write(&path, text)
                    .with_context(|| format!("writing {}", path.display()))?,
                None => print!("{text}"),
            }
            Ok(())
        }
        ModelCommand::Evaluate {
            days,
            theft_model,
            failure_model,
            labels,
            json,
            seed,
        } => {
            let session = lake_session(config).await?;
            let fleet = load(&session, days.from, days.to).await?;
            let curves = day_curves(&session, days.from, days.to).await?;
            let labels_dir = labels.unwrap_or_else(|| PathBuf::from(&config.lake.registry));
            let labels = read_labels(&labels_dir)?;
            let theft = match theft_model {
                Some(path) => ModelFile::load(&path)?.expect_kind(ModelKind::Theft)?,
                None => ModelFile::default_theft()?,
            };
            let failure = failure_model
                .map(|p| ModelFile::load(&p).and_then(|m| m.expect_kind(ModelKind::Failure)))
                .transpose()?;
            let report = evaluate(&fleet, &curves, &labels, &theft, failure.as_ref(), seed)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", meterlake::model_report::render(&report));
            }
            Ok(())
        }
    }
}

/// The answers in `dir`: `theft.csv`, `faults.csv` (the day each fault starts) and `households.csv`
/// when present; theft.csv is required.
fn read_labels(dir: &Path) -> anyhow::Result<Labels> {
    let read = |name: &str| std::fs::read_to_string(dir.join(name));
    let theft_text = read("theft.csv")
        .with_context(|| format!("reading {}", dir.join("theft.csv").display()))?;
    let mut labels = Labels::default();
    for l in ingest::sim::theft::parse_theft_csv(&theft_text)? {
        labels.theft.insert(
            l.meter_id,
            TheftTruth {
                kind: l.theft.kind.to_string(),
                onset: l.theft.onset,
            },
        );
    }
    let zone = chrono_tz::Asia::Shanghai;
    if let Ok(text) = read("faults.csv") {
        for (meter, _, start) in ingest::sim::registry::parse_fault_starts(&text)? {
            let day = start.with_timezone(&zone).date_naive();
            let first = labels.failures.entry(meter).or_insert(day);
            *first = (*first).min(day);
        }
    }
    if let Ok(text) = read("households.csv") {
        labels.classes = ingest::sim::registry::parse_household_classes(&text)?
            .into_iter()
            .collect();
    }
    Ok(labels)
}

fn render_scores(rows: &[ScoreRow], format: OutputFormat, top: usize) -> anyhow::Result<String> {
    Ok(match format {
        OutputFormat::Csv => {
            let mut text = String::from("meter_id,score,rank,area_id,reasons\n");
            for r in rows {
                text.push_str(&format!(
                    "{},{:.6},{},{},\"{}\"\n",
                    r.meter_id,
                    r.score,
                    r.rank,
                    r.area_id,
                    reasons_text(&r.reasons)
                ));
            }
            text
        }
        OutputFormat::Json => {
            let values: Vec<serde_json::Value> = rows
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "meter_id": r.meter_id, "score": r.score, "rank": r.rank,
                        "area_id": r.area_id,
                        "reasons": r.reasons.iter().map(|(f, z)| serde_json::json!({"feature": f, "z": z})).collect::<Vec<_>>(),
                    })
                })
                .collect();
            format!("{}\n", serde_json::to_string_pretty(&values)?)
        }
        OutputFormat::Table => {
            let mut text = format!(
                "{:>5}  {:<12}  {:>6}  {:<7}  reasons\n",
                "rank", "meter", "score", "area"
            );
            for r in rows.iter().take(top) {
                text.push_str(&format!(
                    "{:>5}  {:<12}  {:>6.3}  {:<7}  {}\n",
                    r.rank,
                    r.meter_id,
                    r.score,
                    r.area_id,
                    reasons_text(&r.reasons)
                ));
            }
            text
        }
    })
}

fn render_classes(rows: &[ClassRow], format: OutputFormat, top: usize) -> anyhow::Result<String> {
    Ok(match format {
        OutputFormat::Csv => {
            let mut text = String::from("meter_id,usage_class,cluster,distance,daily_kwh\n");
            for r in rows {
                text.push_str(&format!(
                    "{},{},{},{},{:.3}\n",
                    r.meter_id,
                    r.usage_class,
                    r.cluster.map(|c| c.to_string()).unwrap_or_default(),
                    r.distance.map(|d| format!("{d:.4}")).unwrap_or_default(),
                    r.daily_kwh
                ));
            }
            text
        }
        OutputFormat::Json => {
            let values: Vec<serde_json::Value> = rows
                .iter()
                .map(|r| serde_json::json!({"meter_id": r.meter_id, "usage_class": r.usage_class, "cluster": r.cluster, "distance": r.distance, "daily_kwh": r.daily_kwh}))
                .collect();
            format!("{}\n", serde_json::to_string_pretty(&values)?)
        }
        OutputFormat::Table => {
            let mut sizes: std::collections::BTreeMap<&str, (usize, f64)> = Default::default();
            for r in rows {
                let s = sizes.entry(&r.usage_class).or_default();
                s.0 += 1;
                s.1 += r.daily_kwh;
            }
            let mut text = format!(
                "{:<18}  {:>7}  {:>10}\n",
                "usage class", "meters", "kWh/day"
            );
            for (class, (n, kwh)) in sizes.into_iter().take(top) {
                text.push_str(&format!("{class:<18}  {n:>7}  {:>10.2}\n", kwh / n as f64));
            }
            text
        }
    })
}
