//! Printing query results as a table, CSV or JSON lines.

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
}

/// Renders batches in `format`.
pub fn render(batches: &[RecordBatch], format: OutputFormat) -> anyhow::Result<String> {
    match format {
        OutputFormat::Table => Ok(arrow::util::pretty::pretty_format_batches(batches)?.to_string()),
        OutputFormat::Csv => {
            let mut out = Vec::new();
            {
                let mut writer = arrow::csv::WriterBuilder::new()
                    .with_header(true)
                    .build(&mut out);
                for batch in batches {
                    writer.write(batch)?;
                }
            }
            Ok(String::from_utf8(out)?)
        }
        OutputFormat::Json => {
            let mut out = Vec::new();
            {
                let mut writer = arrow::json::LineDelimitedWriter::new(&mut out);
                for batch in batches {
                    writer.write(batch)?;
                }
                writer.finish()?;
            }
            Ok(String::from_utf8(out)?)
        }
    }
}
