//! The meter registry the simulator writes for the lake and analytics: `meters.csv`, `areas.csv` and the
//! fault labels `faults.csv` (schemas in `docs/contracts.md` §7).

use std::fmt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};

use super::fault::Fault;
use super::Fleet;

/// Whether a meter bills a customer or measures an area's supply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeterKind {
    /// A customer (household) meter.
    Customer,
    /// An area's supply (total) meter, 台区总表.
    Supply,
}

impl fmt::Display for MeterKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Customer => "customer",
            Self::Supply => "supply",
        })
    }
}

/// One row of `meters.csv`: one installed meter (a replacement adds a row with the same `meter_id`).
#[derive(Debug, Clone, PartialEq)]
pub struct MeterRecord {
    /// Communication address, 12 digits (the readings' `meter_id`).
    pub meter_id: String,
    /// Meter number (表号) of this installation, 12 digits.
    pub meter_number: String,
    /// Customer id (`C` + 12 digits) for customer meters.
    pub customer_id: Option<String>,
    /// Customer or supply.
    pub kind: MeterKind,
    /// Transformer area.
    pub area_id: String,
    /// Feeder.
    pub feeder_id: String,
    /// Bus (DTU) the meter hangs on.
    pub bus_id: String,
    /// Tariff plan of customer meters.
    pub tariff_plan: Option<String>,
    /// Persons in the household (customer meters).
    pub household_size: Option<u8>,
    /// Whether the premises have rooftop PV.
    pub has_pv: bool,
    /// When this meter was installed.
    pub installed_on: DateTime<Utc>,
    /// When it was removed (replaced), if it was.
    pub removed_on: Option<DateTime<Utc>>,
}

/// One row of `areas.csv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AreaRecord {
    /// Area id.
    pub area_id: String,
    /// Feeder id.
    pub feeder_id: String,
    /// Address of the area's supply meter, if it has one.
    pub supply_meter_id: Option<String>,
    /// Number of customer meters in the area.
    pub customers: usize,
}

/// One row of `faults.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultLabel {
    /// Communication address of the faulty meter.
    pub meter_id: String,
    /// The fault.
    pub fault: Fault,
    /// Kind-specific detail (`key=value`).
    pub detail: String,
}

/// Writing a registry file failed.
#[derive(Debug, thiserror::Error)]
#[error("writing {path}: {source}")]
pub struct RegistryError {
    /// The file.
    pub path: PathBuf,
    /// The cause.
    pub source: std::io::Error,
}

/// Header of `meters.csv`.
pub const METERS_HEADER: &str = "meter_id,customer_id,kind,area_id,feeder_id,bus_id,tariff_plan,household_size,has_pv,installed_on,removed_on,meter_number";
/// Header of `areas.csv`.
pub const AREAS_HEADER: &str = "area_id,feeder_id,supply_meter_id,customers";
/// Header of `faults.csv`.
pub const FAULTS_HEADER: &str = "meter_id,fault,start,end,detail";

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A CSV field: quoted when it holds a comma, quote or newline.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn write_csv(
    path: PathBuf,
    header: &str,
    rows: impl Iterator<Item = Vec<String>>,
) -> Result<(), RegistryError> {
    let mut text = format!("{header}\n");
    for row in rows {
        let fields: Vec<String> = row.iter().map(|f| field(f)).collect();
        text.push_str(&fields.join(","));
        text.push('\n');
    }
    std::fs::write(&path, text).map_err(|source| RegistryError { path, source })
}

impl Fleet {
    /// Writes `meters.csv`, `areas.csv` and `faults.csv` into `dir` (created if missing).
    pub fn write_registry(&self, dir: &Path) -> Result<(), RegistryError> {
        write_registry_files(dir, &self.meters, &self.areas, &self.faults)
    }
}

/// Writes `meters.csv`, `areas.csv` and `faults.csv` of these rows into `dir` (created if missing).
pub fn write_registry_files(
    dir: &Path,
    meters: &[MeterRecord],
    areas: &[AreaRecord],
    faults: &[FaultLabel],
) -> Result<(), RegistryError> {
    std::fs::create_dir_all(dir).map_err(|source| RegistryError {
        path: dir.to_path_buf(),
        source,
    })?;
    let opt = |o: &Option<String>| o.clone().unwrap_or_default();
    write_csv(
        dir.join("meters.csv"),
        METERS_HEADER,
        meters.iter().map(|m| {
            vec![
                m.meter_id.clone(),
                opt(&m.customer_id),
                m.kind.to_string(),
                m.area_id.clone(),
                m.feeder_id.clone(),
                m.bus_id.clone(),
                opt(&m.tariff_plan),
                m.household_size.map(|h| h.to_string()).unwrap_or_default(),
                m.has_pv.to_string(),
                ts(m.installed_on),
                m.removed_on.map(ts).unwrap_or_default(),
                m.meter_number.clone(),
            ]
        }),
    )?;
    write_csv(
        dir.join("areas.csv"),
        AREAS_HEADER,
        areas.iter().map(|a| {
            vec![
                a.area_id.clone(),
                a.feeder_id.clone(),
                opt(&a.supply_meter_id),
                a.customers.to_string(),
            ]
        }),
    )?;
    write_csv(
        dir.join("faults.csv"),
        FAULTS_HEADER,
        faults.iter().map(|f| {
            vec![
                f.meter_id.clone(),
                f.fault.kind.to_string(),
                ts(f.fault.start),
                ts(f.fault.end),
                f.detail.clone(),
            ]
        }),
    )
}

/// A malformed label file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file} line {line}: {reason}")]
pub struct LabelFileError {
    /// The file's name.
    pub file: &'static str,
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

/// The data lines of a label file whose first line must be `header`, split into fields.
fn label_rows<'a>(
    file: &'static str,
    header: &str,
    text: &'a str,
) -> Result<Vec<(usize, Vec<&'a str>)>, LabelFileError> {
    let mut lines = text.lines().enumerate();
    if lines.next().map(|(_, h)| h.trim()) != Some(header) {
        return Err(LabelFileError {
            file,
            line: 1,
            reason: format!("the header must be {header:?}"),
        });
    }
    Ok(lines
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| (i + 1, l.split(',').map(str::trim).collect()))
        .collect())
}

/// The meter, fault kind and start of every row of `faults.csv`.
pub fn parse_fault_starts(
    text: &str,
) -> Result<Vec<(String, String, DateTime<Utc>)>, LabelFileError> {
    label_rows("faults.csv", FAULTS_HEADER, text)?
        .into_iter()
        .map(|(line, fields)| {
            let bad = |reason: String| LabelFileError {
                file: "faults.csv",
                line,
                reason,
            };
            let [meter, kind, start, ..] = fields[..] else {
                return Err(bad("expected at least 3 fields".into()));
            };
            let start = DateTime::parse_from_rfc3339(start)
                .map_err(|e| bad(format!("start {start:?}: {e}")))?;
            Ok((
                meter.to_string(),
                kind.to_string(),
                start.with_timezone(&Utc),
            ))
        })
        .collect()
}

/// Header of `households.csv`.
pub const HOUSEHOLDS_HEADER: &str =
    "meter_id,usage_class,persons,pv_watts,vacant_from,vacant_until,moved_in,moved_out,travels";

/// Each meter's usage class from `households.csv`.
pub fn parse_household_classes(text: &str) -> Result<Vec<(String, String)>, LabelFileError> {
    label_rows("households.csv", HOUSEHOLDS_HEADER, text)?
        .into_iter()
        .map(|(line, fields)| match fields[..] {
            [meter, class, ..] => Ok((meter.to_string(), class.to_string())),
            _ => Err(LabelFileError {
                file: "households.csv",
                line,
                reason: "expected a meter and a class".into(),
            }),
        })
        .collect()
}
