//! Analysts' questions on a simulated lake, meterlake against DuckDB over the same Parquet files.
//!
//! The lake holds a fleet's 15-minute readings written straight through `Lake::append`
//! ([`fleet_lake`]). meterlake answers the questions of `sql_questions/meterlake.sql` through its catalog
//! and views; `sql_questions/compare.py` then has DuckDB answer `sql_questions/duckdb.sql` over the lake's
//! files and the registry CSVs in the same run, checks that every answer equals meterlake's, and prints the
//! per-question times, the ratios and the geometric means. Each question runs `REPEATS` times per engine;
//! the median counts.
//!
//! `cargo bench --bench sql_questions -- [AREAS] [CUSTOMERS_PER_AREA] [DAYS] [REPEATS]` (default
//! 1,000 × 100 × 11 × 3: 101,000 meters, about 106 million rows). The lake is generated once below
//! `$CARGO_TARGET_DIR/bench-lakes` and reused. Without `--bench` (under `cargo test --all-targets`) it runs
//! 4 × 10 × 3 days once, comparison included. `SQL_QUESTIONS_EXPLAIN=NAME` prints the `EXPLAIN ANALYZE`
//! of one question (time and rows per operator) instead. Needs `METERLAKE_PYTHON` (a Python with duckdb and pyarrow,
//! as `scripts/test.sh` sets up).

use std::path::Path;
use std::time::Instant;

use analytics::LakeSession;
use chrono::{Datelike, NaiveDate, TimeDelta};
use store::Lake;

mod args;
mod fleet_lake;

use args::positional as arg;
use fleet_lake::{FleetShape, ZONE};

/// One question: its name and its SQL with the parameters filled in.
struct Question {
    name: String,
    sql: String,
}

/// The questions of a `-- name:` sectioned SQL file, with `{key}` parameters replaced.
fn questions(text: &str, params: &[(&str, String)]) -> Vec<Question> {
    let mut out: Vec<Question> = Vec::new();
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("-- name:") {
            out.push(Question {
                name: name.trim().to_string(),
                sql: String::new(),
            });
        } else if let Some(question) = out.last_mut() {
            if !line.starts_with("--") {
                question.sql.push_str(line);
                question.sql.push('\n');
            }
        }
    }
    for question in &mut out {
        for (key, value) in params {
            question.sql = question.sql.replace(&format!("{{{key}}}"), value);
        }
        question.sql = question.sql.trim().trim_end_matches(';').to_string();
    }
    out
}

/// Profiling mode (`SQL_QUESTIONS_EXPLAIN=NAME`): prints DataFusion's `EXPLAIN ANALYZE` of one question,
/// with the time and rows of every operator, instead of running the comparison.
async fn explain_analyze(
    session: &LakeSession,
    asked: &[Question],
    name: &str,
) -> anyhow::Result<()> {
    let question = asked
        .iter()
        .find(|q| q.name == name)
        .ok_or_else(|| anyhow::anyhow!("no question named {name}"))?;
    let plan = session
        .query(&format!("EXPLAIN ANALYZE {}", question.sql))
        .await?;
    println!("{}", arrow::util::pretty::pretty_format_batches(&plan)?);
    Ok(())
}

fn median(mut secs: Vec<f64>) -> f64 {
    secs.sort_by(f64::total_cmp);
    secs[secs.len() / 2]
}

fn write_parquet(path: &Path, batches: &[arrow::array::RecordBatch]) -> anyhow::Result<()> {
    let schema = match batches.first() {
        Some(batch) => batch.schema(),
        None => anyhow::bail!("no result schema for {}", path.display()),
    };
    let mut writer =
        parquet::arrow::ArrowWriter::try_new(std::fs::File::create(path)?, schema, None)?;
    for batch in batches {
        writer.write(batch)?;
    }
    writer.close()?;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    meterlake::allocator::tune_for_scans();
    let bench = args::full_run();
    let (shape, repeats) = if bench {
        let shape = FleetShape {
            areas: arg(1, 1_000),
            customers_per_area: arg(2, 100),
            days: arg(3, 11) as u32,
            first_day: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap_or_default(),
            lost_per_10k: 20,
        };
        (shape, arg(4, 3).max(1))
    } else {
        let shape = FleetShape {
            areas: 4,
            customers_per_area: 10,
            days: 3,
            first_day: NaiveDate::from_ymd_opt(2026, 10, 30).unwrap_or_default(),
            lost_per_10k: 200,
        };
        (shape, 1)
    };
    let python = fleet_lake::python("duckdb and pyarrow")?;
    let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/sql_questions");
    let scratch = tempfile::tempdir()?;
    let root = fleet_lake::lakes_root(bench, scratch.path());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let fleet = fleet_lake::fleet_lake(shape, &root).await?;
        let lake = Lake::open(&fleet.location, ZONE).await?;
        let session =
            LakeSession::from_lake_with_registry(&lake, ZONE, Some(&fleet.registry)).await?;
        let rows = session.query("SELECT count(*) FROM readings").await?;
        let rows =
            arrow::array::AsArray::as_primitive::<arrow::datatypes::Int64Type>(rows[0].column(0))
                .value(0);
        let middle = shape.first_day + TimeDelta::days(i64::from(shape.days / 2));
        let month_start = shape.first_day.with_day(1).unwrap_or(shape.first_day);
        let month_end = month_start
            .checked_add_months(chrono::Months::new(1))
            .unwrap_or(month_start);
        let params = vec![
            (
                "meter",
                shape.meter_id(shape.areas / 2, shape.customers_per_area / 2),
            ),
            ("day", middle.to_string()),
            ("month_start", month_start.to_string()),
            ("month_end", month_end.to_string()),
        ];
        let out = scratch.path().join("meterlake-answers");
        std::fs::create_dir_all(&out)?;
        let mut timings = serde_json::Map::new();
        println!(
            "{rows} rows, {} files; {repeats} runs per question, median",
            lake.file_uris()?.len()
        );
        let asked = questions(
            &std::fs::read_to_string(here.join("meterlake.sql"))?,
            &params,
        );
        if let Ok(name) = std::env::var("SQL_QUESTIONS_EXPLAIN") {
            return explain_analyze(&session, &asked, &name).await;
        }
        for question in asked {
            let mut secs = Vec::with_capacity(repeats);
            let mut answer = Vec::new();
            for _ in 0..repeats {
                let started = Instant::now();
                answer = session
                    .query(&question.sql)
                    .await
                    .map_err(|e| anyhow::anyhow!("{}: {e}", question.name))?;
                secs.push(started.elapsed().as_secs_f64());
            }
            let secs = median(secs);
            eprintln!("meterlake {}: {secs:.3} s", question.name);
            write_parquet(&out.join(format!("{}.parquet", question.name)), &answer)?;
            timings.insert(question.name, secs.into());
        }
        std::fs::write(out.join("timings.json"), serde_json::to_string(&timings)?)?;
        let files = out.join("files.txt");
        std::fs::write(&files, lake.file_uris()?.join("\n"))?;
        let mut command = std::process::Command::new(python);
        command
            .arg(here.join("compare.py"))
            .arg("--sql")
            .arg(here.join("duckdb.sql"))
            .arg("--answers")
            .arg(&out)
            .arg("--files")
            .arg(&files)
            .arg("--registry")
            .arg(&fleet.registry)
            .arg("--repeats")
            .arg(repeats.to_string());
        for (key, value) in &params {
            command.arg("--param").arg(format!("{key}={value}"));
        }
        let status = command.status()?;
        anyhow::ensure!(status.success(), "the DuckDB comparison failed ({status})");
        Ok(())
    })
}
