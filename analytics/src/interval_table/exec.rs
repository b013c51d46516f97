//! The execution plan of the native `interval_energy` table: each partition takes every n-th meter
//! range of the scan, reads it on a blocking thread and streams its interval rows.

use std::fmt;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use chrono_tz::Tz;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryReservation};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{
    Boundedness, ChildrenPropertiesMode, EmissionType, ReplaceChildrenOptions,
};
use datafusion::physical_plan::stream::RecordBatchReceiverStreamBuilder;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
};
use tokio::sync::mpsc::Sender;

use super::rows::{Column, Installs, IntervalRows, REGISTERS};
use crate::lake_files::chunks::Chunk;
use crate::lake_files::decode::{Keep, RangeReadings, RegisterColumns, ScanFile};
use crate::AnalyticsError;

/// The register columns of the lake, in the view's order.
const REGISTER_COLUMNS: [&str; REGISTERS] = [
    "energy_fwd_total_kwh",
    "energy_fwd_t1_kwh",
    "energy_fwd_t2_kwh",
    "energy_fwd_t3_kwh",
    "energy_fwd_t4_kwh",
    "energy_rev_total_kwh",
];
/// Bytes a decoded reading holds while its range is read (boundary, registers, run bookkeeping).
const READING_BYTES: usize = 64;

/// What every partition of one scan shares.
pub(super) struct ScanPlan {
    /// The files, their footers read (once per session: the table shares them).
    pub files: Arc<Vec<ScanFile>>,
    /// The meter ranges, ascending.
    pub chunks: Vec<Chunk>,
    /// The meters the scan keeps (from pushed-down filters).
    pub keep: Keep,
    /// Registry installations, for replacements.
    pub installs: Arc<Installs>,
    /// The lake's local zone.
    pub zone: Tz,
    /// The projected columns, in output order.
    pub columns: Vec<Column>,
}

/// Streams `interval_energy` rows from a [`ScanPlan`].
pub(super) struct IntervalEnergyExec {
    plan: Arc<ScanPlan>,
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
}

impl IntervalEnergyExec {
    /// A plan of `partitions` partitions producing `schema` (the projected schema).
    pub fn new(plan: ScanPlan, schema: SchemaRef, partitions: usize) -> Self {
        let properties = PlanProperties::new(
            EquivalenceProperties::new(schema.clone()),
            Partitioning::UnknownPartitioning(partitions.max(1)),
            EmissionType::Incremental,
            Boundedness::Bounded,
        );
        Self {
            plan: Arc::new(plan),
            schema,
            properties: Arc::new(properties),
        }
    }

    fn partitions(&self) -> usize {
        self.properties.partitioning.partition_count()
    }
}

impl fmt::Debug for IntervalEnergyExec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntervalEnergyExec")
            .field("files", &self.plan.files.len())
            .field("ranges", &self.plan.chunks.len())
            .finish()
    }
}

impl DisplayAs for IntervalEnergyExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        let meters = match &self.plan.keep {
            Keep::Only(set) => format!("{} meters", set.len()),
            _ => "all meters".to_string(),
        };
        write!(
            f,
            "IntervalEnergyExec: files={}, meter_ranges={}, {meters}",
            self.plan.files.len(),
            self.plan.chunks.len()
        )
    }
}

fn external(e: AnalyticsError) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

/// Reads partition `partition`'s ranges (every `step`-th) and sends their rows in batches of about
/// `batch_rows`; stops quietly when the stream is dropped.
fn run_partition(
    plan: &ScanPlan,
    schema: SchemaRef,
    (partition, step): (usize, usize),
    batch_rows: usize,
    tx: &Sender<Result<arrow::array::RecordBatch>>,
    reservation: &MemoryReservation,
) -> Result<()> {
    let mut rows = IntervalRows::new(schema, plan.columns.clone(), plan.zone);
    let mut registers: RegisterColumns<REGISTERS> = [None; REGISTERS];
    for (i, register) in registers.iter_mut().enumerate() {
        if rows.wants_register(i) {
            *register = Some(REGISTER_COLUMNS[i]);
        }
    }
    let mut readings = RangeReadings::<REGISTERS>::default();
    let mut series = Vec::new();
    let mut closed = false;
    for chunk in plan.chunks.iter().skip(partition).step_by(step.max(1)) {
        reservation.try_resize(chunk.rows.saturating_mul(READING_BYTES))?;
        readings
            .read(&plan.files, chunk, &plan.keep, &registers)
            .map_err(external)?;
        readings
            .each_meter(&mut series, &mut |meter, series| {
                let installs = plan.installs.get(meter).map_or(&[][..], Vec::as_slice);
                rows.push_meter(meter, series, installs);
                if rows.len() >= batch_rows && tx.blocking_send(Ok(rows.finish()?)).is_err() {
                    closed = true;
                    return Err(AnalyticsError::Shape("stream closed".into()));
                }
                Ok(())
            })
            .or_else(|e| if closed { Ok(()) } else { Err(external(e)) })?;
        if closed {
            return Ok(());
        }
    }
    reservation.free();
    if rows.len() > 0 {
        let batch = rows.finish().map_err(external)?;
        // A closed stream wants nothing more.
        let _ = tx.blocking_send(Ok(batch));
    }
    Ok(())
}

impl ExecutionPlan for IntervalEnergyExec {
    fn name(&self) -> &'static str {
        "IntervalEnergyExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn replace_children(
        self: Arc<Self>,
        _: Vec<Arc<dyn ExecutionPlan>>,
        _: ReplaceChildrenOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.replace_children(
            children,
            ReplaceChildrenOptions::new(ChildrenPropertiesMode::Recompute),
        )
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let step = self.partitions();
        if partition >= step {
            return Err(DataFusionError::Internal(format!(
                "IntervalEnergyExec has {step} partitions, not {partition}"
            )));
        }
        let batch_rows = context.session_config().batch_size();
        let reservation = MemoryConsumer::new(format!("IntervalEnergyExec[{partition}]"))
            .register(context.memory_pool());
        let mut builder = RecordBatchReceiverStreamBuilder::new(self.schema.clone(), 2);
        let tx = builder.tx();
        let (plan, schema) = (self.plan.clone(), self.schema.clone());
        builder.spawn_blocking(move || {
            run_partition(
                &plan,
                schema,
                (partition, step),
                batch_rows,
                &tx,
                &reservation,
            )
        });
        Ok(builder.build())
    }
}
