-- The benchmark's questions in meterlake SQL, over the catalog's tables and views (`readings`, `meters`,
-- `areas`, `interval_energy`, `daily_energy`, `load_curve`). `duckdb.sql` asks the same questions of DuckDB.
-- Each question starts with a `-- name:` line; {meter}, {day}, {month_start} and {month_end} are filled in
-- by the harness.

-- name: q1_last_reading
SELECT meter_id, max(boundary_ts) AS last_boundary,
       last_value(energy_fwd_total_kwh ORDER BY boundary_ts) AS energy_kwh
FROM readings GROUP BY meter_id;

-- name: q2_meter_day
SELECT boundary_ts, energy_fwd_total_kwh, active_power_kw, voltage_v
FROM readings WHERE meter_id = '{meter}' AND date = DATE '{day}'
ORDER BY boundary_ts;

-- name: q3_area_daily_energy
SELECT m.area_id, d.date, sum(d.energy_kwh) AS energy_kwh
FROM daily_energy d JOIN meters m ON m.meter_id = d.meter_id
WHERE m.kind = 'customer' AND d.date >= DATE '{month_start}' AND d.date < DATE '{month_end}'
GROUP BY m.area_id, d.date;

-- name: q4_area_peak_load
WITH area_load AS (
  SELECT m.area_id, i.interval_start, sum(i.energy_kwh) * 4 AS load_kw
  FROM interval_energy i JOIN meters m ON m.meter_id = i.meter_id
  WHERE m.kind = 'customer' AND i.quality = 'measured'
  GROUP BY m.area_id, i.interval_start)
SELECT area_id, max(load_kw) AS peak_kw,
       first_value(interval_start ORDER BY load_kw DESC, interval_start) AS peak_at
FROM area_load GROUP BY area_id;

-- name: q5_top_consumers
SELECT d.meter_id, sum(d.energy_kwh) AS energy_kwh
FROM daily_energy d JOIN meters m ON m.meter_id = d.meter_id
WHERE m.kind = 'customer'
GROUP BY d.meter_id ORDER BY energy_kwh DESC, d.meter_id LIMIT 100;

-- name: q6_typical_weekday_curve
SELECT l.slot, CAST(sum(l.energy_kwh) AS DOUBLE) * 4 / count(DISTINCT l.date) AS avg_kw
FROM load_curve l JOIN meters m ON m.meter_id = l.meter_id
WHERE m.kind = 'customer' AND l.quality = 'measured' AND date_part('dow', l.date) BETWEEN 1 AND 5
GROUP BY l.slot;

-- name: q7_line_loss
WITH area_day AS (
  SELECT m.area_id, d.date,
         sum(CASE WHEN m.kind = 'supply' THEN d.energy_kwh END) AS supply_kwh,
         sum(CASE WHEN m.kind = 'customer' THEN d.energy_kwh END) AS customer_kwh
  FROM daily_energy d JOIN meters m ON m.meter_id = d.meter_id
  GROUP BY m.area_id, d.date)
SELECT area_id, date, supply_kwh, customer_kwh, supply_kwh - customer_kwh AS loss_kwh,
       CAST(supply_kwh - customer_kwh AS DOUBLE) / CAST(supply_kwh AS DOUBLE) AS loss_rate
FROM area_day WHERE supply_kwh > 0;

-- name: q8_monthly_totals
SELECT m.area_id, CAST(date_trunc('month', d.date) AS DATE) AS month,
       sum(d.energy_kwh) AS energy_kwh, count(DISTINCT d.meter_id) AS meters
FROM daily_energy d JOIN meters m ON m.meter_id = d.meter_id
WHERE m.kind = 'customer'
GROUP BY m.area_id, CAST(date_trunc('month', d.date) AS DATE);

-- name: q9_meter_month
SELECT date, energy_kwh, measured_intervals
FROM daily_energy
WHERE meter_id = '{meter}' AND date >= DATE '{month_start}' AND date < DATE '{month_end}'
ORDER BY date;
