//! A simulated fleet's readings written straight into a lake (no Kafka), for the SQL and billing
//! benchmarks: the simulator's residential load profile per household, cumulative registers at every
//! 15-minute boundary, a supply meter per transformer area, a few lost readings, and the registry files.
//!
//! Meters of one area have consecutive addresses (its customers, then its supply meter), so every data file
//! covers a narrow meter range and a meter predicate prunes the others.

use std::path::{Path, PathBuf};

use arrow::array::RecordBatch;
use chrono::{NaiveDate, NaiveDateTime, TimeDelta, TimeZone, Timelike};
use ingest::sim::history::{WireRow, WireRows};
use ingest::sim::profile::{household_scale, household_size, unit_hash, LoadProfile};
use store::{Lake, LakeLocation};

/// The lake's local zone.
pub const ZONE: chrono_tz::Tz = chrono_tz::Asia::Shanghai;
/// Tariff plan every customer meter is registered with.
pub const PLAN: &str = "shanghai-residential";

/// The size of the simulated fleet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FleetShape {
    /// Transformer areas; each has one supply meter.
    pub areas: usize,
    /// Customer meters per area.
    pub customers_per_area: usize,
    /// Local days of readings, from `first_day`.
    pub days: u32,
    /// The first local day.
    pub first_day: NaiveDate,
    /// Readings of customer meters lost per 10,000 (never the first one).
    pub lost_per_10k: u32,
}

impl FleetShape {
    /// Rows the lake will hold, about (lost readings are drawn at random).
    pub fn rows(&self) -> u64 {
        let meters = (self.areas * (self.customers_per_area + 1)) as u64;
        let all = meters * u64::from(self.days) * 96;
        all - all * u64::from(self.lost_per_10k) * self.customers_per_area as u64
            / (self.customers_per_area as u64 + 1)
            / 10_000
    }

    /// Customer meters.
    pub fn customers(&self) -> usize {
        self.areas * self.customers_per_area
    }

    /// The address of meter `j` of `area` (`j == customers_per_area` is the supply meter).
    pub fn meter_id(&self, area: usize, j: usize) -> String {
        format!(
            "{:012}",
            100_000_000 + area * (self.customers_per_area + 1) + j
        )
    }

    fn label(&self) -> String {
        format!(
            "{}x{}x{}d-{}-{}",
            self.areas, self.customers_per_area, self.days, self.first_day, self.lost_per_10k
        )
    }
}

/// Cumulative energy of one meter in Wh: total, peak hours (06–22, register 2), valley hours (register 4).
#[derive(Debug, Clone, Copy, Default)]
struct Registers {
    total: f64,
    peak: f64,
    valley: f64,
}

impl Registers {
    fn add(&mut self, wh: f64, hour: u32) {
        self.total += wh;
        if (6..22).contains(&hour) {
            self.peak += wh;
        } else {
            self.valley += wh;
        }
    }
}

/// Centi-kWh shown by a register holding `wh` (the meter truncates to its 0.01 kWh resolution).
fn centi_kwh(wh: f64) -> i128 {
    (wh / 10.0).floor() as i128
}

/// Adds the reading of `meter` at `boundary_us` with `registers` and a demand of `watts` to `rows`.
fn push(
    rows: &mut WireRows,
    meter: &str,
    bus: &str,
    boundary_us: i64,
    registers: &Registers,
    watts: f64,
) {
    let total = centi_kwh(registers.total);
    let kw = watts / 1000.0;
    rows.push(&WireRow {
        meter,
        bus,
        collector: "bench-collector",
        boundary_us,
        read_us: boundary_us + 350_000,
        clock_us: Some(boundary_us - 2_000_000),
        energy: [
            total,
            0,
            centi_kwh(registers.peak),
            0,
            centi_kwh(registers.valley),
            0,
        ],
        electrical: [220.0 + (total % 7) as f64 * 0.5, kw / 0.22, kw, 0.96, 50.0],
        status: [0; 7],
        money: [20_000 - (total % 10_000), 0],
    });
}

/// Per-meter state carried from one day to the next.
struct FleetState {
    shape: FleetShape,
    customers: Vec<(LoadProfile, Registers)>,
    supply: Vec<Registers>,
}

impl FleetState {
    fn new(shape: FleetShape) -> Self {
        let customers = (0..shape.customers())
            .map(|index| {
                let seed = index as u64 + 1;
                let persons = household_size(unit_hash(seed, u64::MAX));
                let profile = LoadProfile::Residential {
                    scale: household_scale(persons),
                    seed,
                };
                // Registers start somewhere between 0 and 7,000 kWh.
                let start = 10.0 * ((index as u64 * 7_919) % 700_000) as f64;
                let registers = Registers {
                    total: start,
                    peak: start * 0.6,
                    valley: start * 0.4,
                };
                (profile, registers)
            })
            .collect();
        Self {
            shape,
            customers,
            supply: vec![Registers::default(); shape.areas],
        }
    }

    /// The rows of areas `areas` on local day `day` (boundaries 00:00 … 23:45), advancing the registers.
    fn day_rows(
        &mut self,
        day: NaiveDate,
        areas: std::ops::Range<usize>,
    ) -> anyhow::Result<RecordBatch> {
        let shape = self.shape;
        let times: Vec<(NaiveDateTime, i64)> = (0..96)
            .map(|slot| {
                let local = day.and_time(chrono::NaiveTime::MIN) + TimeDelta::minutes(15 * slot);
                let utc = ZONE
                    .from_local_datetime(&local)
                    .earliest()
                    .map(|t| t.timestamp_micros())
                    .unwrap_or_default();
                (local, utc)
            })
            .collect();
        let first_day = day == shape.first_day;
        let mut rows = WireRows::new();
        for area in areas {
            let bus = format!("bus-{area:05}");
            let mut area_wh = [0.0f64; 96];
            for j in 0..shape.customers_per_area {
                let index = area * shape.customers_per_area + j;
                let meter = shape.meter_id(area, j);
                let (profile, registers) = &mut self.customers[index];
                for (slot, (local, utc)) in times.iter().enumerate() {
                    let watts = profile.watts(*local);
                    let lost = !(first_day && slot == 0)
                        && unit_hash(index as u64 + 1, *utc as u64) * 10_000.0
                            < f64::from(shape.lost_per_10k);
                    if !lost {
                        push(&mut rows, &meter, &bus, *utc, registers, watts);
                    }
                    registers.add(watts / 4.0, local.hour());
                    area_wh[slot] += watts / 4.0;
                }
            }
            // The supply meter sees the customers plus 4 % line loss and a 300 W transformer no-load loss.
            let meter = shape.meter_id(area, shape.customers_per_area);
            let registers = &mut self.supply[area];
            for (slot, (local, utc)) in times.iter().enumerate() {
                let wh = area_wh[slot] * 1.04 + 75.0;
                push(&mut rows, &meter, &bus, *utc, registers, wh * 4.0);
                registers.add(wh, local.hour());
            }
        }
        Ok(rows.finish()?)
    }
}

/// Writes `meters.csv` and `areas.csv` for `shape` into `dir`.
pub fn write_registry(shape: &FleetShape, dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut meters = format!("{}\n", ingest::sim::registry::METERS_HEADER);
    let mut areas = format!("{}\n", ingest::sim::registry::AREAS_HEADER);
    for area in 0..shape.areas {
        let (area_id, feeder_id, bus) = (
            format!("A{area:05}"),
            format!("F{:04}", area / 10),
            format!("bus-{area:05}"),
        );
        for j in 0..=shape.customers_per_area {
            let meter = shape.meter_id(area, j);
            let line = if j < shape.customers_per_area {
                let seed = (area * shape.customers_per_area + j) as u64 + 1;
                let persons = household_size(unit_hash(seed, u64::MAX));
                format!(
                    "{meter},C{meter},customer,{area_id},{feeder_id},{bus},{PLAN},{persons},false,2020-01-01T00:00:00Z,,{meter}\n"
                )
            } else {
                format!("{meter},,supply,{area_id},{feeder_id},{bus},,,false,2020-01-01T00:00:00Z,,{meter}\n")
            };
            meters.push_str(&line);
        }
        let supply = shape.meter_id(area, shape.customers_per_area);
        areas.push_str(&format!(
            "{area_id},{feeder_id},{supply},{}\n",
            shape.customers_per_area
        ));
    }
    std::fs::write(dir.join("meters.csv"), meters)?;
    std::fs::write(dir.join("areas.csv"), areas)?;
    Ok(())
}

/// A generated lake: its location and registry directory.
pub struct FleetLake {
    /// The lake root.
    pub location: LakeLocation,
    /// The directory holding `meters.csv` and `areas.csv`.
    pub registry: PathBuf,
}

/// The lake for `shape` below `root`, generated unless a complete one from an earlier run is there.
pub async fn fleet_lake(shape: FleetShape, root: &Path) -> anyhow::Result<FleetLake> {
    let dir = root.join(shape.label());
    let marker = dir.join("complete");
    let location = LakeLocation::parse(
        dir.join("lake")
            .to_str()
            .ok_or_else(|| anyhow::anyhow!("lake path is not UTF-8"))?,
    )?;
    let registry = dir.join("registry");
    if marker.is_file() {
        eprintln!("reusing the lake in {}", dir.display());
        return Ok(FleetLake { location, registry });
    }
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    write_registry(&shape, &registry)?;
    let started = std::time::Instant::now();
    generate_days(shape, &location, 0..shape.days).await?;
    let generate_secs = started.elapsed().as_secs_f64();
    std::fs::write(&marker, format!("{shape:?}\n"))?;
    eprintln!(
        "generated {} rows in {generate_secs:.1} s into {}",
        shape.rows(),
        dir.display()
    );
    Ok(FleetLake { location, registry })
}

/// Appends the readings of days `days` (of `0..shape.days`) to the lake at `location`; the registers of
/// earlier days are computed (not written) so that the new days continue them.
pub async fn generate_days(
    shape: FleetShape,
    location: &LakeLocation,
    days: std::ops::Range<u32>,
) -> anyhow::Result<()> {
    let mut lake = Lake::open(location, ZONE).await?;
    let mut state = FleetState::new(shape);
    // About a million rows per append: one day of a block of areas.
    let block = (1_000_000 / (96 * (shape.customers_per_area + 1))).max(1);
    let written = u64::from(days.end.saturating_sub(days.start)) * shape.rows()
        / u64::from(shape.days.max(1));
    let progress = indicatif::ProgressBar::new(written);
    progress.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg} [{bar:40}] {human_pos}/{human_len} rows, {per_sec}, eta {eta}",
        )?
        .progress_chars("=> "),
    );
    progress.set_message("generating the lake");
    for day in 0..days.end {
        let date = shape.first_day + TimeDelta::days(i64::from(day));
        for start in (0..shape.areas).step_by(block) {
            let batch = state.day_rows(date, start..(start + block).min(shape.areas))?;
            if day >= days.start {
                let rows = batch.num_rows() as u64;
                lake.append(vec![batch], &[]).await?;
                progress.inc(rows);
            }
        }
    }
    progress.finish_and_clear();
    Ok(())
}

/// The Python the comparison scripts run with (`METERLAKE_PYTHON`, set by `scripts/test.sh`); `tools` names
/// the packages it needs, for the error.
pub fn python(tools: &str) -> anyhow::Result<String> {
    std::env::var("METERLAKE_PYTHON").map_err(|_| {
        anyhow::anyhow!(
            "METERLAKE_PYTHON must name a Python with {tools} (scripts/test.sh sets it)"
        )
    })
}

/// Where generated lakes live: kept below `$CARGO_TARGET_DIR/bench-lakes` for a full run, in `scratch`
/// (thrown away) for the tiny test-mode run.
pub fn lakes_root(full_run: bool, scratch: &Path) -> PathBuf {
    if !full_run {
        return scratch.to_path_buf();
    }
    std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
        .join("bench-lakes")
}
