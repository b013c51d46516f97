//! A load report for machines: JSON (the whole [`LoadReport`]) or CSV in long form, one
//! `section,subject,metric,value` row per figure, so every part of the report fits one table.

use super::stats::slot_time;
use super::LoadReport;
use crate::AnalyticsError;

/// The report as pretty-printed JSON.
pub fn to_json(report: &LoadReport) -> Result<String, AnalyticsError> {
    serde_json::to_string_pretty(report).map_err(|e| AnalyticsError::Shape(format!("json: {e}")))
}

/// One CSV field, quoted when it holds a comma, quote or line break (RFC 4180).
pub fn field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// The report as CSV rows `section,subject,metric,value` (empty value: not available).
pub fn to_csv(report: &LoadReport) -> String {
    let mut rows: Vec<[String; 4]> = Vec::new();
    let mut put = |section: &str, subject: &str, metric: &str, value: Option<String>| {
        rows.push([
            section.to_string(),
            subject.to_string(),
            metric.to_string(),
            value.unwrap_or_default(),
        ]);
    };
    let f = |v: Option<f64>| v.map(|v| v.to_string());
    let t = &report.totals;
    let area = report.area_id.as_str();
    put(
        "area",
        area,
        "customers",
        Some(report.customers.to_string()),
    );
    put("area", area, "feeder_id", report.feeder_id.clone());
    put(
        "area",
        area,
        "supply_meter_id",
        report.supply_meter_id.clone(),
    );
    put("area", area, "from", Some(report.from.to_string()));
    put("area", area, "to", Some(report.to.to_string()));
    put(
        "area",
        area,
        "lake_version",
        report.lake_version.map(|v| v.to_string()),
    );
    put("total", area, "energy_kwh", f(Some(t.energy_kwh)));
    put("total", area, "export_kwh", f(Some(t.export_kwh)));
    put("total", area, "max_kw", f(t.max_kw));
    put("total", area, "max_at", t.max_at.clone());
    put("total", area, "min_kw", f(t.min_kw));
    put("total", area, "min_at", t.min_at.clone());
    put("total", area, "line_loss_kwh", f(t.line_loss_kwh));
    put("total", area, "line_loss_rate", f(t.line_loss_rate));
    put("total", area, "completeness", f(Some(t.completeness)));
    for d in &report.days {
        let date = d.date.to_string();
        for (metric, value) in [
            ("energy_kwh", f(Some(d.energy_kwh))),
            ("export_kwh", f(Some(d.export_kwh))),
            ("max_kw", f(d.max_kw)),
            ("max_at", d.max_at.clone()),
            ("min_kw", f(d.min_kw)),
            ("min_at", d.min_at.clone()),
            ("avg_kw", f(d.avg_kw)),
            ("load_factor", f(d.load_factor)),
            ("peak_valley_kw", f(d.peak_valley_kw)),
            ("peak_valley_rate", f(d.peak_valley_rate)),
            ("supply_kwh", f(d.supply_kwh)),
            ("line_loss_kwh", f(d.line_loss_kwh)),
            ("line_loss_rate", f(d.line_loss_rate)),
            ("measured_intervals", Some(d.measured_intervals.to_string())),
            ("expected_intervals", Some(d.expected_intervals.to_string())),
            ("completeness", f(Some(d.completeness))),
        ] {
            put("day", &date, metric, value);
        }
    }
    for m in &report.months {
        for (metric, value) in [
            ("energy_kwh", f(Some(m.energy_kwh))),
            ("export_kwh", f(Some(m.export_kwh))),
            ("previous_month_kwh", f(m.previous_month_kwh)),
            ("month_over_month", f(m.month_over_month)),
            ("previous_year_kwh", f(m.previous_year_kwh)),
            ("year_over_year", f(m.year_over_year)),
        ] {
            put("month", &m.month, metric, value);
        }
    }
    for (kind, curve) in [
        ("typical_weekday", &report.typical_weekday_kw),
        ("typical_weekend", &report.typical_weekend_kw),
    ] {
        for (slot, value) in curve.iter().enumerate() {
            put(kind, &slot_time(slot as u32), "kw", f(*value));
        }
    }
    for (rank, c) in report.top_consumers.iter().enumerate() {
        let subject = c.meter_id.as_str();
        put("top", subject, "rank", Some((rank + 1).to_string()));
        put("top", subject, "customer_id", c.customer_id.clone());
        put("top", subject, "energy_kwh", f(Some(c.energy_kwh)));
    }
    let mut out = String::from("section,subject,metric,value\n");
    for row in rows {
        let line: Vec<String> = row.iter().map(|s| field(s)).collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_with_commas_or_quotes_are_quoted() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
