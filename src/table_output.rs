//! Writing query results as a table, CSV, JSON lines or Parquet.

use std::io::Write;

use arrow::array::RecordBatch;

/// Output formats of `meterlake sql`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// An aligned text table.
    Table,
    /// CSV with a header line.
    Csv,
    /// One JSON object per row.
    Json,
    /// A Parquet file (zstd), for other tools.
    Parquet,
}

/// Writes batches to `out` in `format`.
pub fn write_batches<W: Write + Send>(
    batches: &[RecordBatch],
    format: OutputFormat,
    out: &mut W,
) -> anyhow::Result<()> {
    match format {
        OutputFormat::Table => write!(
            out,
            "{}",
            arrow::util::pretty::pretty_format_batches(batches)?
        )?,
        OutputFormat::Csv => {
            let mut writer = arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(out);
            for batch in batches {
                writer.write(batch)?;
            }
        }
        OutputFormat::Json => {
            let mut writer = arrow::json::LineDelimitedWriter::new(out);
            for batch in batches {
                writer.write(batch)?;
            }
            writer.finish()?;
        }
        OutputFormat::Parquet => {
            let schema = match batches.first() {
                Some(batch) => batch.schema(),
                None => std::sync::Arc::new(arrow::datatypes::Schema::empty()),
            };
            let properties = parquet::file::properties::WriterProperties::builder()
                .set_compression(parquet::basic::Compression::ZSTD(Default::default()))
                .build();
            let mut writer = parquet::arrow::ArrowWriter::try_new(out, schema, Some(properties))?;
            for batch in batches {
                writer.write(batch)?;
            }
            writer.close()?;
        }
    }
    Ok(())
}

/// Renders batches in a text `format` (table, CSV or JSON).
pub fn render(batches: &[RecordBatch], format: OutputFormat) -> anyhow::Result<String> {
    anyhow::ensure!(format != OutputFormat::Parquet, "Parquet is not text");
    let mut out = Vec::new();
    write_batches(batches, format, &mut out)?;
    Ok(String::from_utf8(out)?)
}
