//! Configuration: one TOML file plus `METERLAKE_<SECTION>__<KEY>` environment overrides, for every subcommand.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

/// The whole configuration. Every key has a default, so no file is needed.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The lake.
    pub lake: LakeConfig,
    /// Kafka.
    pub kafka: KafkaConfig,
    /// Control service (`control::Config`).
    pub control: control::Config,
    /// Collectors.
    pub collector: CollectorConfig,
    /// The sink.
    pub sink: SinkConfig,
    /// The PostgreSQL wire-protocol endpoint (`meterlake sql-server`).
    pub sql_server: SqlServerConfig,
    /// `[tls]`
    pub tls: TlsConfig,
    /// Alarm rules on readings (`[diagnosis]`, `docs/diagnosis.md`).
    pub diagnosis: analytics::diagnosis::DiagnosisConfig,
    /// Validation, estimation and editing of interval data (`[vee]`, `docs/vee.md`).
    pub vee: analytics::vee::VeeConfig,
}

/// `[lake]`
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct LakeConfig {
    /// Local directory or object-store URL (`s3://bucket/prefix`).
    pub location: String,
    /// The utility's local time zone (partition dates, reports, TOU periods).
    pub zone: String,
    /// Directory of the meter registry (`meters.csv`, `areas.csv`; `docs/contracts.md` §7), the SQL
    /// tables `meters` and `areas`. Missing files give empty tables.
    pub registry: String,
}

/// `[kafka]`
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct KafkaConfig {
    /// Bootstrap servers; empty starts the embedded broker (demo only).
    pub brokers: String,
    /// Prefix of every topic name.
    pub topic_prefix: String,
    /// Partitions of topics the embedded broker creates.
    pub partitions: i32,
    /// Extra librdkafka properties (e.g. `"security.protocol" = "SASL_SSL"`).
    pub properties: BTreeMap<String, String>,
}

/// `[collector]`
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct CollectorConfig {
    /// Reply timeout per attempt, milliseconds.
    pub timeout_ms: u64,
    /// Retries after a timeout.
    pub retries: u32,
    /// Collector id: the Kafka key of its commands and acknowledgements.
    pub id: String,
    /// Directory of the collector's on-disk spool (readings wait here while Kafka is away).
    pub spool_dir: String,
    /// Disk bound of the spool, MiB; appends beyond it fail with a clear error.
    pub spool_max_mb: u64,
    /// Collection interval, seconds (rounds fall on multiples of it: 900 = :00/:15/:30/:45).
    pub interval_s: u64,
    /// Buses polled at the same time.
    pub max_concurrent_buses: usize,
    /// Address of the collector's `/metrics` and `/healthz` endpoint.
    pub listen: String,
    /// Buses file (TOML, `[[bus]]` tables) for `meterlake collect`.
    pub buses_file: String,
    /// Read meter clocks every this many rounds (0: never; 96 rounds of 15 min = daily).
    pub clock_check_every_rounds: u64,
    /// Read the meters' event records (cover open, power-down, programming, clock setting) every this
    /// many rounds (0: never; 96 = daily; the first round after a start reads them too).
    pub event_check_every_rounds: u64,
    /// Broadcast a time sync on a bus when a meter is off by this many seconds (60–300 s window).
    pub clock_threshold_s: u64,
    /// Directory of the keys relay commands must be signed under (a copy of the control service's
    /// `control.command_keys_dir`); without it every command is rejected.
    pub command_keys_dir: String,
}

/// `[sink]`
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SinkConfig {
    /// Consumer group.
    pub group_id: String,
    /// Commit after this many buffered rows.
    pub flush_rows: usize,
    /// Commit at least this often, milliseconds (the latency bound).
    pub flush_interval_ms: u64,
    /// Seconds a reading's boundary may lie past the sink's clock before the row is refused as a dead
    /// letter (clock skew between collectors and the sink).
    pub future_tolerance_s: u64,
    /// Address of `meterlake sink`'s `/metrics` and `/healthz`.
    pub listen: String,
}

/// `[tls]`: the certificate every listener of the process serves (control API, collector and sink
/// HTTP, SQL endpoint).
#[derive(Debug, Clone, PartialEq, Default, serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain (`meterlake cert` makes a self-signed pair); empty: no TLS.
    pub cert: String,
    /// PEM private key.
    pub key: String,
    /// Listen without TLS when no certificate is set (passwords and tokens then cross the network in
    /// clear): only for loopback or a trusted network. Without it, a listener without TLS refuses to
    /// start.
    pub allow_plaintext: bool,
}

/// `[sql_server]`
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SqlServerConfig {
    /// Listen address of the PostgreSQL wire protocol.
    pub listen: String,
    /// Connections that may be logged in at once (more are refused with SQLSTATE 53300).
    pub max_connections: usize,
    /// Longest a statement may run (planning and streaming), seconds.
    pub statement_timeout_s: u64,
    /// Memory all running queries may hold together, MiB.
    pub memory_limit_mb: u64,
    /// How often new connections move to the newest lake version, seconds.
    pub refresh_s: u64,
}

impl TlsConfig {
    /// `https` when a certificate is set, else `http` (for the addresses services print).
    pub fn scheme(&self) -> &'static str {
        if self.cert.trim().is_empty() {
            "http"
        } else {
            "https"
        }
    }

    /// The server configuration a listener of `what` serves with `alpn`: `None` when no certificate
    /// is set and plaintext is allowed; an error when neither is set (or the files are bad).
    pub fn server_config(
        &self,
        what: &str,
        alpn: &[&[u8]],
    ) -> anyhow::Result<Option<std::sync::Arc<rustls::ServerConfig>>> {
        match control::tls::configured(&self.cert, &self.key, "tls")? {
            Some((cert, key)) => Ok(Some(control::tls::server_config(cert, key, alpn)?)),
            None if self.allow_plaintext => Ok(None),
            None => bail!(
                "{what} needs TLS: set tls.cert and tls.key (`meterlake cert` makes a self-signed pair), \
                 or tls.allow_plaintext = true on loopback or a trusted network"
            ),
        }
    }
}

impl KafkaConfig {
    /// Client settings for a service that needs a real broker: `--brokers` if given, else `kafka.brokers`.
    /// `command` names the subcommand in the error when neither is set.
    pub fn settings_for(
        &self,
        brokers: Option<String>,
        command: &str,
    ) -> anyhow::Result<ingest::kafka::KafkaSettings> {
        let brokers = brokers.unwrap_or_else(|| self.brokers.clone());
        if brokers.trim().is_empty() {
            bail!("meterlake {command} needs Kafka: set kafka.brokers or --brokers (the embedded broker is only for `meterlake demo`)");
        }
        Ok(ingest::kafka::KafkaSettings {
            brokers,
            properties: self.properties.clone(),
        })
    }
}

impl CollectorConfig {
    /// The spool's disk bound in bytes (`spool_max_mb` MiB), or an error when it does not fit.
    pub fn spool_max_bytes(&self) -> anyhow::Result<u64> {
        self.spool_max_mb
            .checked_mul(1024 * 1024)
            .filter(|bytes| *bytes > 0)
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "collector.spool_max_mb = {}: from 1 to {} MiB",
                    self.spool_max_mb,
                    u64::MAX / (1024 * 1024)
                )
            })
    }
}

impl SinkConfig {
    /// The sink's runtime settings.
    pub fn runtime(&self) -> ingest::sink::SinkConfig {
        ingest::sink::SinkConfig {
            group_id: self.group_id.clone(),
            flush_rows: self.flush_rows,
            flush_interval: std::time::Duration::from_millis(self.flush_interval_ms),
            future_tolerance: std::time::Duration::from_secs(self.future_tolerance_s),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            lake: LakeConfig {
                location: "meterlake-data/lake".into(),
                zone: "Asia/Shanghai".into(),
                registry: "meterlake-data/registry".into(),
            },
            kafka: KafkaConfig {
                brokers: String::new(),
                topic_prefix: String::new(),
                partitions: 3,
                properties: BTreeMap::new(),
            },
            control: control::Config::default(),
            collector: CollectorConfig {
                timeout_ms: 500,
                retries: 2,
                id: "collector-1".into(),
                spool_dir: "meterlake-data/spool".into(),
                spool_max_mb: 1024,
                interval_s: 900,
                max_concurrent_buses: 4096,
                listen: "127.0.0.1:9645".into(),
                buses_file: "buses.toml".into(),
                clock_check_every_rounds: 96,
                event_check_every_rounds: 96,
                clock_threshold_s: 60,
                command_keys_dir: "meterlake-data/keys/commands".into(),
            },
            sink: SinkConfig {
                group_id: "meterlake-sink".into(),
                flush_rows: 100_000,
                flush_interval_ms: 500,
                future_tolerance_s: 900,
                listen: "127.0.0.1:9646".into(),
            },
            sql_server: SqlServerConfig {
                listen: "127.0.0.1:5433".into(),
                max_connections: 32,
                statement_timeout_s: 300,
                memory_limit_mb: 4096,
                refresh_s: 30,
            },
            tls: TlsConfig::default(),
            diagnosis: Default::default(),
            vee: Default::default(),
        }
    }
}

impl Default for LakeConfig {
    fn default() -> Self {
        Config::default().lake
    }
}
impl Default for KafkaConfig {
    fn default() -> Self {
        Config::default().kafka
    }
}
impl Default for CollectorConfig {
    fn default() -> Self {
        Config::default().collector
    }
}
impl Default for SinkConfig {
    fn default() -> Self {
        Config::default().sink
    }
}
impl Default for SqlServerConfig {
    fn default() -> Self {
        Config::default().sql_server
    }
}

/// Prefix of environment overrides.
const ENV_PREFIX: &str = "METERLAKE_";
/// `METERLAKE_*` variables that are not configuration keys: the config file, the log filter, a fail point
/// (crash tests), and the test tooling's own (`PYTHON`, `VENV`, `SOAK_*`).
const NOT_CONFIGURATION: [&str; 5] = ["CONFIG", "LOG", "FAIL_POINT", "PYTHON", "VENV"];

fn env_value(text: &str) -> toml::Value {
    if let Ok(i) = text.parse::<i64>() {
        return toml::Value::Integer(i);
    }
    if let Ok(b) = text.parse::<bool>() {
        return toml::Value::Boolean(b);
    }
    toml::Value::String(text.to_string())
}

impl Config {
    /// Loads `path` (or `METERLAKE_CONFIG`, or `./meterlake.toml` if present, or defaults) and applies
    /// environment overrides from `env`.
    pub fn load(
        path: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> anyhow::Result<Self> {
        let env: Vec<(String, String)> = env.into_iter().collect();
        let path: Option<PathBuf> = path.map(Path::to_path_buf).or_else(|| {
            env.iter()
                .find(|(k, _)| k == "METERLAKE_CONFIG")
                .map(|(_, v)| PathBuf::from(v))
                .or_else(|| Some(PathBuf::from("meterlake.toml")).filter(|p| p.exists()))
        });
        let mut value = match &path {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading config file {}", path.display()))?;
                text.parse::<toml::Table>()
                    .with_context(|| format!("config file {} is not valid TOML", path.display()))?
            }
            None => toml::Table::new(),
        };
        for (key, raw) in &env {
            let Some(rest) = key.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            if NOT_CONFIGURATION.contains(&rest) || rest.starts_with("SOAK_") {
                continue;
            }
            let Some((section, field)) = rest.split_once("__") else {
                bail!("environment variable {key}: expected METERLAKE_<SECTION>__<KEY>");
            };
            let section = value
                .entry(section.to_ascii_lowercase())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            let Some(table) = section.as_table_mut() else {
                bail!("environment variable {key}: section is not a table");
            };
            // A password stays text even when it is all digits.
            let value = if field.eq_ignore_ascii_case("password") {
                toml::Value::String(raw.clone())
            } else {
                env_value(raw)
            };
            table.insert(field.to_ascii_lowercase(), value);
        }
        let source = path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "defaults".into());
        toml::Value::Table(value)
            .try_into::<Config>()
            .with_context(|| format!("invalid configuration ({source} + environment)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_file_and_environment_layer_in_that_order() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("m.toml");
        std::fs::write(
            &file,
            "[kafka]\nbrokers = \"a:9092\"\n[sink]\nflush_rows = 5\n",
        )
        .unwrap();
        let env = vec![("METERLAKE_SINK__FLUSH_ROWS".to_string(), "7".to_string())];
        let config = Config::load(Some(&file), env).unwrap();
        assert_eq!(config.kafka.brokers, "a:9092");
        assert_eq!(config.sink.flush_rows, 7);
        assert_eq!(config.lake.zone, "Asia/Shanghai");
    }

    #[test]
    fn a_spool_bound_that_does_not_fit_is_a_clear_error() {
        let mut collector = CollectorConfig::default();
        assert_eq!(collector.spool_max_bytes().unwrap(), 1024 * 1024 * 1024);
        for bad in [0, u64::MAX, u64::MAX / (1024 * 1024) + 1] {
            collector.spool_max_mb = bad;
            let err = collector.spool_max_bytes().unwrap_err().to_string();
            assert!(err.contains("collector.spool_max_mb"), "{err}");
        }
    }

    #[test]
    fn broken_files_and_unknown_keys_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bad.toml");
        std::fs::write(&file, "[kafka\nbrokers=").unwrap();
        let err = format!("{:#}", Config::load(Some(&file), vec![]).unwrap_err());
        assert!(
            err.contains("not valid TOML") && err.contains("bad.toml"),
            "{err}"
        );
        std::fs::write(&file, "[kafka]\nbrokerz = \"x\"\n").unwrap();
        let err = format!("{:#}", Config::load(Some(&file), vec![]).unwrap_err());
        assert!(err.contains("brokerz"), "{err}");
        let err = Config::load(None, vec![("METERLAKE_NOSECTION".into(), "1".into())]).unwrap_err();
        assert!(err.to_string().contains("METERLAKE_<SECTION>__<KEY>"));
        assert!(Config::load(Some(Path::new("/nonexistent/m.toml")), vec![]).is_err());
    }
}
