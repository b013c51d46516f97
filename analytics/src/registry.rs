//! The meter registry as SQL tables: `meters` and `areas`, read from `meters.csv` and `areas.csv`.
//!
//! The registry is the single source of who a meter belongs to (customer, area, feeder, tariff plan,
//! household size, installation dates). The files' format is fixed in `docs/contracts.md` §7; the
//! simulator writes them, a utility exports them from its customer system. A directory without the files
//! gives empty tables, so queries and views work before a registry exists.

use std::path::Path;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::datasource::MemTable;
use datafusion::prelude::{CsvReadOptions, SessionContext};

use crate::AnalyticsError;

/// Name of the meters table and its file stem.
pub const METERS: &str = "meters";
/// Name of the areas table and its file stem.
pub const AREAS: &str = "areas";

fn utc() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// Columns of `meters.csv`, in file order.
pub fn meters_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("meter_id", DataType::Utf8, false),
        Field::new("customer_id", DataType::Utf8, true),
        Field::new("kind", DataType::Utf8, false),
        Field::new("area_id", DataType::Utf8, false),
        Field::new("feeder_id", DataType::Utf8, false),
        Field::new("bus_id", DataType::Utf8, false),
        Field::new("tariff_plan", DataType::Utf8, true),
        Field::new("household_size", DataType::Int32, true),
        Field::new("has_pv", DataType::Boolean, false),
        Field::new("installed_on", utc(), false),
        Field::new("removed_on", utc(), true),
        Field::new("meter_number", DataType::Utf8, false),
    ]))
}

/// Columns of `areas.csv`, in file order.
pub fn areas_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("area_id", DataType::Utf8, false),
        Field::new("feeder_id", DataType::Utf8, false),
        Field::new("supply_meter_id", DataType::Utf8, true),
        Field::new("customers", DataType::Int64, false),
    ]))
}

/// Registers `meters` and `areas` in `ctx` from `dir` (`None` or missing files: empty tables).
///
/// The files are read at once, so a malformed registry is reported when the session opens, naming the
/// file, not in the middle of some later query.
pub async fn register(ctx: &SessionContext, dir: Option<&Path>) -> Result<(), AnalyticsError> {
    for (name, schema) in [(METERS, meters_schema()), (AREAS, areas_schema())] {
        let path = dir.map(|d| d.join(format!("{name}.csv")));
        let batches = match path.as_deref().filter(|p| p.is_file()) {
            Some(path) => {
                let file = path.display().to_string();
                let options = CsvReadOptions::new()
                    .schema(&schema)
                    .has_header(true)
                    .file_extension(".csv");
                let read = async { ctx.read_csv(file.clone(), options).await?.collect().await };
                read.await.map_err(|e| AnalyticsError::Registry {
                    file: file.clone(),
                    reason: e.to_string(),
                })?
            }
            None => Vec::new(),
        };
        let table = MemTable::try_new(schema, vec![batches])?;
        ctx.deregister_table(name)?;
        ctx.register_table(name, Arc::new(table))?;
    }
    Ok(())
}
