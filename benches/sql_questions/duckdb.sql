-- The benchmark's questions in DuckDB SQL over the same Parquet files and registry CSVs. DuckDB has no
-- meterlake views, so `intervals` derives 15-minute energy from the cumulative register the way an analyst
-- would: the difference to the previous reading, measured when the readings are 15 minutes apart and the
-- difference is between 0 and 10 kWh. {files}, {registry}, {meter}, {day}, {month_start} and {month_end}
-- are filled in by the harness. The setup statements are not timed.

-- setup: readings
CREATE VIEW readings AS SELECT * FROM read_parquet({files}, hive_partitioning = true);

-- setup: meters
CREATE TABLE meters AS SELECT * FROM read_csv('{registry}/meters.csv', header = true,
  types = {'meter_id': 'VARCHAR', 'customer_id': 'VARCHAR', 'meter_number': 'VARCHAR',
           'household_size': 'INTEGER', 'tariff_plan': 'VARCHAR', 'removed_on': 'VARCHAR'});

-- setup: areas
CREATE TABLE areas AS SELECT * FROM read_csv('{registry}/areas.csv', header = true,
  types = {'supply_meter_id': 'VARCHAR', 'customers': 'BIGINT'});

-- setup: intervals
CREATE VIEW intervals AS
SELECT meter_id, start_ts AS interval_start,
       CAST(timezone('Asia/Shanghai', start_ts) AS DATE) AS date,
       CAST(hour(timezone('Asia/Shanghai', start_ts)) * 4
            + minute(timezone('Asia/Shanghai', start_ts)) // 15 AS INTEGER) AS slot,
       energy_kwh
FROM (
  SELECT meter_id, boundary_ts,
         lag(boundary_ts) OVER w AS start_ts,
         energy_fwd_total_kwh - lag(energy_fwd_total_kwh) OVER w AS energy_kwh
  FROM readings
  WINDOW w AS (PARTITION BY meter_id ORDER BY boundary_ts))
WHERE start_ts IS NOT NULL AND boundary_ts - start_ts = INTERVAL 15 MINUTE
  AND energy_kwh BETWEEN 0 AND 10;

-- setup: daily
CREATE VIEW daily AS
SELECT meter_id, date, sum(energy_kwh) AS energy_kwh, count(*) AS measured_intervals
FROM intervals GROUP BY meter_id, date;

-- name: q1_last_reading
SELECT meter_id, max(boundary_ts) AS last_boundary,
       arg_max(energy_fwd_total_kwh, boundary_ts) AS energy_kwh
FROM readings GROUP BY meter_id;

-- name: q2_meter_day
SELECT boundary_ts, energy_fwd_total_kwh, active_power_kw, voltage_v
FROM readings WHERE meter_id = '{meter}' AND date = DATE '{day}'
ORDER BY boundary_ts;

-- name: q3_area_daily_energy
SELECT m.area_id, d.date, sum(d.energy_kwh) AS energy_kwh
FROM daily d JOIN meters m ON m.meter_id = d.meter_id
WHERE m.kind = 'customer' AND d.date >= DATE '{month_start}' AND d.date < DATE '{month_end}'
GROUP BY m.area_id, d.date;

-- name: q4_area_peak_load
WITH area_load AS (
  SELECT m.area_id, i.interval_start, sum(i.energy_kwh) * 4 AS load_kw
  FROM intervals i JOIN meters m ON m.meter_id = i.meter_id
  WHERE m.kind = 'customer'
  GROUP BY m.area_id, i.interval_start)
SELECT area_id, max(load_kw) AS peak_kw,
       first(interval_start ORDER BY load_kw DESC, interval_start) AS peak_at
FROM area_load GROUP BY area_id;

-- name: q5_top_consumers
SELECT d.meter_id, sum(d.energy_kwh) AS energy_kwh
FROM daily d JOIN meters m ON m.meter_id = d.meter_id
WHERE m.kind = 'customer'
GROUP BY d.meter_id ORDER BY energy_kwh DESC, d.meter_id LIMIT 100;

-- name: q6_typical_weekday_curve
SELECT i.slot, CAST(sum(i.energy_kwh) AS DOUBLE) * 4 / count(DISTINCT i.date) AS avg_kw
FROM intervals i JOIN meters m ON m.meter_id = i.meter_id
WHERE m.kind = 'customer' AND date_part('dow', i.date) BETWEEN 1 AND 5
GROUP BY i.slot;

-- name: q7_line_loss
WITH area_day AS (
  SELECT m.area_id, d.date,
         sum(CASE WHEN m.kind = 'supply' THEN d.energy_kwh END) AS supply_kwh,
         sum(CASE WHEN m.kind = 'customer' THEN d.energy_kwh END) AS customer_kwh
  FROM daily d JOIN meters m ON m.meter_id = d.meter_id
  GROUP BY m.area_id, d.date)
SELECT area_id, date, supply_kwh, customer_kwh, supply_kwh - customer_kwh AS loss_kwh,
       CAST(supply_kwh - customer_kwh AS DOUBLE) / CAST(supply_kwh AS DOUBLE) AS loss_rate
FROM area_day WHERE supply_kwh > 0;

-- name: q8_monthly_totals
SELECT m.area_id, CAST(date_trunc('month', d.date) AS DATE) AS month,
       sum(d.energy_kwh) AS energy_kwh, count(DISTINCT d.meter_id) AS meters
FROM daily d JOIN meters m ON m.meter_id = d.meter_id
WHERE m.kind = 'customer'
GROUP BY m.area_id, CAST(date_trunc('month', d.date) AS DATE);

-- name: q9_meter_month
SELECT date, energy_kwh, measured_intervals
FROM daily
WHERE meter_id = '{meter}' AND date >= DATE '{month_start}' AND date < DATE '{month_end}'
ORDER BY date;
