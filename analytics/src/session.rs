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

    /// The utility's local zone.
    pub fn zone(&self) -> Tz {
        self.zone
    }

    /// The DataFusion context, for front ends.
    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    /// Runs one SQL statement and collects the result.
    pub async fn query(&self, sql: &str) -> Result<Vec<RecordBatch>, AnalyticsError> {
        Ok(self.ctx.sql(sql).await?.collect().await?)
    }
}
