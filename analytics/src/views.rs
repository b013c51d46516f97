//! The SQL views registered in every session: interval energy with quality, daily energy, load curves.
//!
//! **`interval_energy`** has one row per meter and 15-minute interval between a meter's first and last
//! reading with a forward register — a gap is a run of visible `missing` rows, never a silent zero:
//! - Consecutive readings with a register (in boundary order) span `gap_intervals` intervals. One interval:
//!   its energy is the register difference. More: every interval of the gap is a `missing` row with a null
//!   `energy_kwh`, and each carries the difference over the whole gap (`gap_energy_kwh`) for estimation.
//! - Register rollover: the 6+2-digit register wraps at 1,000,000 kWh; a fall from ≥ 900,000 to
//!   < 100,000 adds 1,000,000.
//! - Meter replacement (a `meters` row of the same `meter_id` installed inside the span): the new
//!   register restarted at zero, so the energy is the new reading itself, flagged `suspect` (what the old
//!   meter registered after its last reading is unknown).
//! - `quality`: `missing` (inside a gap), `suspect` (register went backwards without rollover or
//!   replacement — energy null —, a replacement, more than [`SUSPECT_KWH`] kWh in 15 minutes, or a span
//!   not on the 15-minute grid), else `measured`.
//! - The tariff registers (`energy_t1_kwh` … `energy_t4_kwh`, the meter's own TOU registers 尖/峰/平/谷)
//!   and the reverse register (`energy_rev_kwh`, PV export) follow the same rules.
//! - `date` and `slot` (0–95) are the local date and quarter-hour of the interval's start.
//!
//! **`daily_energy`**: per meter and local date, energy of measured intervals and counts by quality.
//! **`load_curve`**: the 96 points of each meter-day: energy and average kW of each slot.
//! **`billing_energy`**: `interval_energy` with `missing` intervals estimated ([`billing_energy`] gives
//! the method) and flagged `estimated`; what bills are priced from.

use crate::interval_rules::sql;
pub use crate::interval_rules::SUSPECT_KWH;

/// Register columns that become interval energies: (readings column, view column).
const REGISTERS: [(&str, &str); 6] = [
    ("energy_fwd_total_kwh", "energy_kwh"),
    ("energy_fwd_t1_kwh", "energy_t1_kwh"),
    ("energy_fwd_t2_kwh", "energy_t2_kwh"),
    ("energy_fwd_t3_kwh", "energy_t3_kwh"),
    ("energy_fwd_t4_kwh", "energy_t4_kwh"),
    ("energy_rev_total_kwh", "energy_rev_kwh"),
];

/// `interval_energy` for a lake whose local zone is `zone` (an IANA name such as `Asia/Shanghai`).
pub fn interval_energy(zone: &str) -> String {
    let lags: Vec<String> = REGISTERS
        .iter()
        .map(|(reg, _)| format!("{reg}, lag({reg}) OVER w AS prev_{reg}"))
        .collect();
    let deltas: Vec<String> = REGISTERS
        .iter()
        .map(|(reg, out)| format!("{} AS {out}", sql::register_delta(reg)))
        .collect();
    let singles: Vec<String> = REGISTERS
        .iter()
        .map(|(_, out)| format!("CASE WHEN gap_intervals = 1 THEN {out} END AS {out}"))
        .collect();
    let local = format!("to_local_time(arrow_cast(interval_start, 'Timestamp(µs, \"{zone}\")'))");
    format!(
        "CREATE VIEW interval_energy AS
WITH pairs AS (
  SELECT meter_id,
         lag(CAST(boundary_ts AS BIGINT)) OVER w AS start_us,
         CAST(boundary_ts AS BIGINT) AS end_us,
         {lags}
  FROM readings WHERE energy_fwd_total_kwh IS NOT NULL
  WINDOW w AS (PARTITION BY meter_id ORDER BY boundary_ts)
), installs AS (
  SELECT meter_id, CAST(installed_on AS BIGINT) AS installed_us,
         lag(CAST(installed_on AS BIGINT)) OVER (PARTITION BY meter_id ORDER BY installed_on)
           AS previous_us
  FROM meters WHERE installed_on IS NOT NULL
), spans AS (
  SELECT p.*,
         {intervals} AS gap_intervals,
         {unaligned} AS unaligned,
         r.meter_id IS NOT NULL AS replaced
  FROM pairs p
  LEFT JOIN installs r ON r.meter_id = p.meter_id
       AND r.installed_us > p.start_us AND r.installed_us <= p.end_us
       AND (r.previous_us IS NULL OR r.previous_us <= p.start_us)
  WHERE p.start_us IS NOT NULL
), energies AS (
  SELECT meter_id, start_us, gap_intervals, unaligned, replaced, {deltas}
  FROM spans
), expanded AS (
  SELECT e.*, unnest(range(0, gap_intervals)) AS k FROM energies e
), timed AS (
  SELECT x.*, arrow_cast(to_timestamp_micros({interval_at}), 'Timestamp(µs, \"UTC\")')
              AS interval_start
  FROM expanded x
)
SELECT meter_id,
       CAST({local} AS DATE) AS date,
       CAST(date_part('hour', {local}) * 4 + floor(date_part('minute', {local}) / 15) AS INT) AS slot,
       interval_start,
       {interval_end} AS interval_end,
       {singles},
       {quality} AS quality,
       gap_intervals,
       CASE WHEN gap_intervals > 1 THEN energy_kwh END AS gap_energy_kwh,
       CASE WHEN gap_intervals > 1 THEN CAST(k AS BIGINT) END AS gap_index
FROM timed",
        lags = lags.join(",\n         "),
        deltas = deltas.join(",\n         "),
        singles = singles.join(",\n       "),
        intervals = sql::span_intervals("p.start_us", "p.end_us"),
        unaligned = sql::span_unaligned("p.start_us", "p.end_us"),
        interval_at = sql::interval_start_us("start_us", "k"),
        quality = sql::quality("energy_kwh"),
        interval_end = sql::interval_end("interval_start"),
    )
}

/// `daily_energy`: per meter and local date, measured energy and interval counts by quality.
pub const DAILY_ENERGY: &str = "
CREATE VIEW daily_energy AS
SELECT meter_id, date,
       sum(CASE WHEN quality = 'measured' THEN energy_kwh END) AS energy_kwh,
       sum(energy_rev_kwh) AS energy_rev_kwh,
       count(*) AS intervals,
       count(*) FILTER (WHERE quality = 'measured') AS measured_intervals,
       count(*) FILTER (WHERE quality = 'missing') AS missing_intervals,
       count(*) FILTER (WHERE quality = 'suspect') AS suspect_intervals
FROM interval_energy GROUP BY meter_id, date";

/// `load_curve`: each meter-day's 96 quarter-hour points (energy, average kW, quality).
pub const LOAD_CURVE: &str = "
CREATE VIEW load_curve AS
SELECT meter_id, date, slot, interval_start, energy_kwh, energy_kwh * 4 AS avg_kw, quality
FROM interval_energy";

/// `billing_energy`: `interval_energy` with every `missing` interval estimated, as billing reads it.
///
/// **Estimation method.** A gap's readings bracket it, so the energy over the whole gap is known exactly
/// (`gap_energy_kwh`); only its spread over the gap's `n` intervals is not. Each interval gets an equal
/// share in micro-kWh, `⌊E·(k+1)/n⌋ − ⌊E·k/n⌋` for the `k`-th interval (`gap_index`), so the shares are
/// whole micro-kWh and add up to the gap's energy exactly. An estimated interval has `estimated = true`
/// and keeps `quality = 'missing'`; a gap whose registers do not bracket it (a register that went
/// backwards) has no estimate and stays null, like a `suspect` interval without energy.
pub fn billing_energy() -> String {
    format!(
        "CREATE VIEW billing_energy AS
SELECT meter_id, date, slot, interval_start, interval_end,
       CASE WHEN quality = 'missing' AND gap_energy_kwh IS NOT NULL THEN {share}
            ELSE CAST(energy_kwh AS DECIMAL(20, 8)) END AS energy_kwh,
       quality = 'missing' AND gap_energy_kwh IS NOT NULL AS estimated,
       quality,
       CASE WHEN quality = 'missing' AND gap_energy_kwh IS NOT NULL THEN 'linear'
            ELSE 'measured' END AS method
FROM interval_energy",
        share = sql::gap_share("gap_energy_kwh"),
    )
}

/// `billing_energy` over the VEE's `validated_intervals` table ([`crate::vee`]), as
/// [`crate::LakeSession::bill_validated_energy`] defines it: the validated value of every interval, with
/// `estimated` for estimates and edits and `method` saying how each value was obtained.
pub const VALIDATED_BILLING_ENERGY: &str = "CREATE VIEW billing_energy AS
SELECT meter_id, CAST(date AS DATE) AS date, slot, interval_start, interval_end,
       CAST(kwh AS DECIMAL(20, 8)) AS energy_kwh,
       status IN ('estimated', 'edited') AS estimated,
       CASE status WHEN 'valid' THEN 'measured' ELSE status END AS quality,
       method
FROM validated_intervals";

/// Every view for a lake in `zone`, in creation order (`interval_energy` first: a session over local
/// files replaces it by [`crate::interval_table`] before the others are created).
pub fn all(zone: &str) -> Vec<String> {
    vec![
        interval_energy(zone),
        DAILY_ENERGY.to_string(),
        LOAD_CURVE.to_string(),
        billing_energy(),
    ]
}
