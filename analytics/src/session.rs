//! A DataFusion session over the lake with the `readings` table and meterlake's views.

use std::sync::Arc;

use arrow::array::RecordBatch;
use chrono_tz::Tz;
use datafusion::datasource::MemTable;
use datafusion::execution::runtime_env::RuntimeEnv;
use datafusion::prelude::{SessionConfig, SessionContext};
use store::{Lake, LakeLocation};

use crate::interval_table::IntervalEnergyTable;
use crate::AnalyticsError;

/// A query session pinned to one version of the lake.
pub struct LakeSession {
    ctx: SessionContext,
    lake_version: Option<i64>,
    zone: Tz,
    files: Vec<String>,
    files_local: bool,
    validated_billing: bool,
    lake_root: String,
}

impl LakeSession {
    /// Opens the lake at its latest version, or at `as_of` (time travel).
    pub async fn open(
        location: &LakeLocation,
        zone: Tz,
        as_of: Option<i64>,
    ) -> Result<Self, AnalyticsError> {
        Self::open_with_registry(location, zone, as_of, None).await
    }

    /// [`LakeSession::open`] with the meter registry (`meters.csv`, `areas.csv`) read from `registry`.
    pub async fn open_with_registry(
        location: &LakeLocation,
        zone: Tz,
        as_of: Option<i64>,
        registry: Option<&std::path::Path>,
    ) -> Result<Self, AnalyticsError> {
        let lake = match as_of {
            Some(version) => Lake::open_at_version(location, zone, version).await?,
            None => Lake::open(location, zone).await?,
        };
        Self::from_lake_with_registry(&lake, zone, registry).await
    }

    /// A session over an opened lake, at the version it has loaded, with an empty registry.
    pub async fn from_lake(lake: &Lake, zone: Tz) -> Result<Self, AnalyticsError> {
        Self::from_lake_with_registry(lake, zone, None).await
    }

    /// A session over an opened lake with the registry read from `registry` (see [`crate::registry`]).
    pub async fn from_lake_with_registry(
        lake: &Lake,
        zone: Tz,
        registry: Option<&std::path::Path>,
    ) -> Result<Self, AnalyticsError> {
        Self::from_lake_with_runtime(lake, zone, registry, None).await
    }

    /// [`LakeSession::from_lake_with_registry`] on a given DataFusion runtime (memory pool, disk
    /// manager), shared by every session made with it.
    pub async fn from_lake_with_runtime(
        lake: &Lake,
        zone: Tz,
        registry: Option<&std::path::Path>,
        runtime: Option<Arc<RuntimeEnv>>,
    ) -> Result<Self, AnalyticsError> {
        let config = SessionConfig::new().with_information_schema(true);
        let ctx = match runtime {
            Some(runtime) => SessionContext::new_with_config_rt(config, runtime),
            None => SessionContext::new_with_config(config),
        };
        let provider = lake.table_provider(&ctx.state()).await?;
        match provider {
            Some(provider) => {
                ctx.register_table("readings", provider)?;
            }
            None => {
                let empty = MemTable::try_new(store::reading_schema(), vec![vec![]])?;
                ctx.register_table("readings", Arc::new(empty))?;
            }
        }
        crate::registry::register(&ctx, registry).await?;
        let (files, files_local) = (lake.file_uris()?, lake.url().scheme() == "file");
        for (i, view) in crate::views::all(zone.name()).iter().enumerate() {
            ctx.sql(view).await?.collect().await?;
            if i == 0 {
                // `interval_energy` comes first; the views after it read the native table.
                IntervalEnergyTable::replace_view(&ctx, zone, &files, files_local).await?;
            }
        }
        Ok(Self {
            ctx,
            lake_version: lake.version(),
            zone,
            files,
            files_local,
            validated_billing: false,
            lake_root: lake
                .url()
                .join("../")
                .map(|root| root.to_string())
                .unwrap_or_default(),
        })
    }

    /// The lake version every query of this session reads (`None` for an empty lake).
    pub fn lake_version(&self) -> Option<i64> {
        self.lake_version
    }

    /// The data files of the `readings` table at [`LakeSession::lake_version`].
    pub fn file_uris(&self) -> &[String] {
        &self.files
    }

    /// True when the lake is on local disk, so [`LakeSession::file_uris`] are local paths.
    pub fn files_are_local(&self) -> bool {
        self.files_local
    }

    /// Where the lake lives (its root, above the `readings` table), for writing derived tables.
    pub fn location(&self) -> Result<LakeLocation, AnalyticsError> {
        Ok(LakeLocation::parse(&self.lake_root)?)
    }

    /// The utility's local zone.
    pub fn zone(&self) -> Tz {
        self.zone
    }

    /// The DataFusion context, for front ends.
    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    /// Registers the VEE's `validated_intervals` table ([`crate::vee`]) at its latest version; false
    /// (nothing registered) when VEE has not written it yet.
    pub async fn register_validated(
        &self,
        location: &LakeLocation,
    ) -> Result<bool, AnalyticsError> {
        use crate::vee::table::{DATE_COLUMN, VALIDATED_TABLE};
        let table = store::DerivedTable::open(location, VALIDATED_TABLE, DATE_COLUMN).await?;
        let Some(provider) = table.table_provider(&self.ctx.state()).await? else {
            return Ok(false);
        };
        self.ctx.deregister_table(VALIDATED_TABLE)?;
        self.ctx.register_table(VALIDATED_TABLE, provider)?;
        Ok(true)
    }

    /// Registers every derived table the lake has — `bills`, `daily_charges`, `validated_intervals`,
    /// `alarms`, `meter_events`, and the prediction tables (`theft_scores`, `anomaly_scores`, `failure_risk`,
    /// `meter_clusters`) — at its latest version, for SQL front ends (analysts query them beside
    /// the readings); returns the names registered. A table not written yet is left out.
    pub async fn register_derived(&self) -> Result<Vec<&'static str>, AnalyticsError> {
        use crate::diagnosis::lake_tables::{ALARMS_TABLE, EVENTS_TABLE};
        let location = self.location()?;
        let mut registered = Vec::new();
        for name in [
            crate::billing::bill_records::BILLS_TABLE,
            crate::billing::daily_run::DAILY_CHARGES_TABLE,
            crate::vee::table::VALIDATED_TABLE,
            ALARMS_TABLE,
            EVENTS_TABLE,
            crate::prediction::tables::THEFT_SCORES,
            crate::prediction::tables::ANOMALY_SCORES,
            crate::prediction::tables::FAILURE_RISK,
            crate::prediction::tables::METER_CLUSTERS,
        ] {
            let table = store::DerivedTable::open(&location, name, "").await?;
            if let Some(provider) = table.table_provider(&self.ctx.state()).await? {
                self.ctx.deregister_table(name)?;
                self.ctx.register_table(name, provider)?;
                registered.push(name);
            }
        }
        Ok(registered)
    }

    /// Makes billing read the VEE's validated energy: registers `validated_intervals`
    /// ([`LakeSession::register_validated`]) and redefines `billing_energy` as
    /// [`crate::views::VALIDATED_BILLING_ENERGY`]. Returns false (and changes nothing) when VEE has not
    /// written the table yet.
    pub async fn bill_validated_energy(
        &mut self,
        location: &LakeLocation,
    ) -> Result<bool, AnalyticsError> {
        if !self.register_validated(location).await? {
            return Ok(false);
        }
        self.ctx.deregister_table("billing_energy")?;
        self.query(crate::views::VALIDATED_BILLING_ENERGY).await?;
        self.validated_billing = true;
        Ok(true)
    }

    /// Whether billing reads validated energy ([`LakeSession::bill_validated_energy`]).
    pub fn bills_validated_energy(&self) -> bool {
        self.validated_billing
    }

    /// Runs one SQL statement and collects the result.
    pub async fn query(&self, sql: &str) -> Result<Vec<RecordBatch>, AnalyticsError> {
        Ok(self.ctx.sql(sql).await?.collect().await?)
    }
}
