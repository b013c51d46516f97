//! The SQL views registered in every session.

/// `interval_energy`: consumption per meter per interval from consecutive cumulative readings.
///
/// `date` is the local date of the interval's start. A negative difference (register reset, meter replacement) yields a null `energy_kwh` rather than a
/// negative consumption; the first reading of a meter has no interval.
pub const INTERVAL_ENERGY: &str = "
CREATE VIEW interval_energy AS
SELECT meter_id, date, interval_start, interval_end,
       CASE WHEN energy_kwh < 0 THEN NULL ELSE energy_kwh END AS energy_kwh
FROM (
  SELECT meter_id,
         lag(date) OVER (PARTITION BY meter_id ORDER BY boundary_ts) AS date,
         lag(boundary_ts) OVER (PARTITION BY meter_id ORDER BY boundary_ts) AS interval_start,
         boundary_ts AS interval_end,
         energy_fwd_total_kwh
           - lag(energy_fwd_total_kwh) OVER (PARTITION BY meter_id ORDER BY boundary_ts) AS energy_kwh
  FROM readings
  WHERE energy_fwd_total_kwh IS NOT NULL
) WHERE interval_start IS NOT NULL";

/// `daily_energy`: consumption per meter and local date (of the interval's start).
pub const DAILY_ENERGY: &str = "
CREATE VIEW daily_energy AS
SELECT meter_id, date, sum(energy_kwh) AS energy_kwh, count(*) AS intervals
FROM interval_energy GROUP BY meter_id, date";

/// Every view, in creation order.
pub const ALL: [&str; 2] = [INTERVAL_ENERGY, DAILY_ENERGY];
