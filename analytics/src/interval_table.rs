//! The native `interval_energy` table: the rows of the SQL definition ([`crate::views::interval_energy`])
//! computed straight from the lake's Parquet files on local disk.
//!
//! The SQL view orders every meter's readings with a window over the whole table: a sort of every
//! reading, seven `lag`s and a join against the registry per query. The lake's files are sorted by
//! (meter, boundary) already, so this table cuts them into meter ranges by their row groups' statistics
//! and each partition reads its ranges, strings each meter's readings together in time order (sorting
//! only a meter whose runs overlap) and derives every register's interval energy, the quality, the local
//! date and slot in one pass ([`rows`]). Only the projected columns are built and only the registers
//! they need are read. A `meter_id = …` or `meter_id IN (…)` filter is pushed down: row groups
//! without those meters are not read. The schema is the SQL view's, and the rows are tested equal to it.
//!
//! A lake whose files are not local, or not in `date=` partitions, keeps the SQL view.

mod exec;
mod rows;

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use chrono_tz::Tz;
use datafusion::catalog::Session;
use datafusion::datasource::{TableProvider, TableType};
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{BinaryExpr, Expr, Operator, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::SessionContext;

use crate::columns::strings;
use crate::lake_files::decode::{Keep, ScanFile};
use crate::lake_files::{blocking, chunks, dated_paths, open_files, ChunkLimits, GroupSpan};
use crate::AnalyticsError;
use exec::{IntervalEnergyExec, ScanPlan};
pub(crate) use rows::Installs;
use rows::{Column, COLUMN_NAMES};

/// The table's name in every session.
pub const TABLE: &str = "interval_energy";

/// The meter ranges of a scan of `rows` readings on `partitions` partitions: at least eight per
/// partition, of at most a million readings where the layout allows, capped at 16 million (≈ 1 GB
/// while read) and so that every partition gets two.
fn limits(rows: usize, partitions: usize) -> ChunkLimits {
    ChunkLimits {
        rows: (rows / (partitions.max(1) * 8)).clamp(1, 1 << 20),
        cap_rows: 16 << 20,
    }
    .balanced(rows, partitions)
}

/// `interval_energy` over the lake's local files.
pub struct IntervalEnergyTable {
    schema: SchemaRef,
    paths: Vec<PathBuf>,
    zone: Tz,
    installs: Arc<Installs>,
    /// The files' footers and row groups, read by the first scan (the session's lake version is fixed).
    footers: OnceLock<Footers>,
}

/// The opened files and all their row groups.
type Footers = (Arc<Vec<ScanFile>>, Arc<Vec<GroupSpan>>);

/// The meter named by `expr` when it is `meter_id` (possibly cast).
fn is_meter_column(expr: &Expr) -> bool {
    match expr {
        Expr::Column(column) => column.name == "meter_id",
        Expr::Cast(cast) => is_meter_column(&cast.expr),
        _ => false,
    }
}

/// A string literal's text.
fn text(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Literal(value, _) => value.try_as_str().flatten().map(str::to_string),
        Expr::Cast(cast) => text(&cast.expr),
        _ => None,
    }
}

/// The meters a filter restricts `meter_id` to, when it is `meter_id = '…'` or `meter_id IN (…)`.
fn meters_of(filter: &Expr) -> Option<HashSet<String>> {
    match filter {
        Expr::BinaryExpr(BinaryExpr {
            left,
            op: Operator::Eq,
            right,
        }) => {
            let meter = if is_meter_column(left) {
                text(right)
            } else if is_meter_column(right) {
                text(left)
            } else {
                None
            }?;
            Some(HashSet::from([meter]))
        }
        Expr::InList(list) if !list.negated && is_meter_column(&list.expr) => {
            list.list.iter().map(text).collect()
        }
        _ => None,
    }
}

/// Each meter's installations from the registry's `meters` table (registered in `ctx`), ascending:
/// a register restarts at zero at each.
pub(crate) async fn installations(ctx: &SessionContext) -> Result<Installs, AnalyticsError> {
    let mut installs = Installs::new();
    let batches = ctx
        .sql(
            "SELECT meter_id, CAST(installed_on AS BIGINT) FROM meters \
             WHERE installed_on IS NOT NULL",
        )
        .await?
        .collect()
        .await?;
    for batch in &batches {
        let meters = strings(batch, 0)?;
        let at = crate::columns::typed::<arrow::array::Int64Array>(batch, 1)?;
        for row in 0..batch.num_rows() {
            installs
                .entry(meters.value(row).to_string())
                .or_default()
                .push(at.value(row));
        }
    }
    installs.values_mut().for_each(|v| v.sort_unstable());
    Ok(installs)
}

impl IntervalEnergyTable {
    /// Replaces the SQL `interval_energy` view already registered in `ctx` by the native table when
    /// `uris` (the lake's files) can be read directly; returns whether it did. The registry's `meters`
    /// table must be registered (its installations mark replacements).
    pub async fn replace_view(
        ctx: &SessionContext,
        zone: Tz,
        uris: &[String],
        local: bool,
    ) -> Result<bool, AnalyticsError> {
        let Some(dated) = dated_paths(uris).filter(|_| local) else {
            return Ok(false);
        };
        let schema: SchemaRef = Arc::new(ctx.table(TABLE).await?.schema().as_arrow().clone());
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        if names != COLUMN_NAMES {
            return Err(AnalyticsError::Shape(format!(
                "interval_energy has columns {names:?}, the native table makes {COLUMN_NAMES:?}"
            )));
        }
        let installs = installations(ctx).await?;
        let table = Self {
            schema,
            paths: dated.into_iter().map(|(_, path)| path).collect(),
            zone,
            installs: Arc::new(installs),
            footers: OnceLock::new(),
        };
        ctx.deregister_table(TABLE)?;
        ctx.register_table(TABLE, Arc::new(table))?;
        Ok(true)
    }
}

impl std::fmt::Debug for IntervalEnergyTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IntervalEnergyTable")
            .field("files", &self.paths.len())
            .field("zone", &self.zone)
            .finish()
    }
}

impl IntervalEnergyTable {
    /// The files' footers, read on every core by the first scan and kept.
    fn footers(&self) -> Result<Footers> {
        if let Some(footers) = self.footers.get() {
            return Ok(footers.clone());
        }
        let (files, groups) = blocking(|| open_files(&self.paths))
            .map_err(|e| DataFusionError::External(Box::new(e)))?;
        let footers = (Arc::new(files), Arc::new(groups));
        Ok(self.footers.get_or_init(|| footers).clone())
    }
}

#[async_trait]
impl TableProvider for IntervalEnergyTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        Ok(filters
            .iter()
            .map(|f| match meters_of(f) {
                Some(_) => TableProviderFilterPushDown::Inexact,
                None => TableProviderFilterPushDown::Unsupported,
            })
            .collect())
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let positions: Vec<usize> = match projection {
            Some(p) => p.clone(),
            None => (0..self.schema.fields().len()).collect(),
        };
        let columns = positions
            .iter()
            .map(|i| Column::at(*i))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| DataFusionError::Plan("interval_energy: no such column".into()))?;
        let schema = Arc::new(self.schema.project(&positions)?);
        let mut only: Option<HashSet<String>> = None;
        for meters in filters.iter().filter_map(meters_of) {
            only = Some(match only {
                Some(set) => set.intersection(&meters).cloned().collect(),
                None => meters,
            });
        }
        let keep = only.map_or(Keep::All, Keep::Only);
        let (files, groups) = self.footers()?;
        let groups: Vec<GroupSpan> = groups
            .iter()
            .filter(|g| keep.may_hold(g))
            .cloned()
            .collect();
        let target = state.config().target_partitions();
        let rows = groups.iter().map(|g| g.rows).sum();
        let ranges = chunks::plan(&groups, limits(rows, target));
        let partitions = target.min(ranges.len()).max(1);
        let plan = ScanPlan {
            files,
            chunks: ranges,
            keep,
            installs: self.installs.clone(),
            zone: self.zone,
            columns,
        };
        Ok(Arc::new(IntervalEnergyExec::new(plan, schema, partitions)))
    }
}
