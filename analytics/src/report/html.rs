//! A load report as one self-contained HTML page: summary, SVG charts (daily energy, daily loads, typical
//! curves, completeness) and tables, with inline styles and no scripts or external files.

use std::fmt::Write;

use super::stats::{slot_time, SLOTS};
use super::svg::{chart, escape, ChartKind, Series};
use super::LoadReport;

const STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:900px;color:#222}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:8px 0}td,th{padding:3px 8px;border-bottom:1px solid #eee;text-align:right}
th{background:#f6f6f6}td:first-child,th:first-child{text-align:left}.muted{color:#777}
.chart{width:100%;height:auto}.chart .title{font-weight:600;font-size:13px}.chart .axis{font-size:11px;fill:#555}
.chart .grid{stroke:#e5e5e5}dl{display:grid;grid-template-columns:max-content auto;gap:2px 16px}dd{margin:0}";

fn num(value: Option<f64>, digits: usize) -> String {
    value.map_or_else(|| "–".to_string(), |v| format!("{v:.digits$}"))
}

fn percent(value: Option<f64>) -> String {
    value.map_or_else(|| "–".to_string(), |v| format!("{:.1} %", v * 100.0))
}

/// The report as an HTML document.
pub fn render(report: &LoadReport) -> String {
    let mut page = String::new();
    let title = format!(
        "Load report — area {} — {} to {}",
        report.area_id, report.from, report.to
    );
    let _ = write!(
        page,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title><style>{STYLE}</style></head><body><h1>{t}</h1>",
        t = escape(&title)
    );
    page.push_str(&body(report));
    page.push_str("</body></html>");
    page
}

/// The report's content without the document around it (summary, charts, tables, the note on units),
/// for embedding in another page.
pub fn body(report: &LoadReport) -> String {
    let mut page = String::new();
    summary(&mut page, report);
    charts(&mut page, report);
    days_table(&mut page, report);
    months_table(&mut page, report);
    top_table(&mut page, report);
    let _ = write!(
        page,
        "<p class=\"muted\">Dates and times are local ({zone}). Loads are quarter-hour averages of the area's \
         customer meters (measured intervals only; missing intervals are never counted as zero). Lake version \
         {version}.</p>",
        zone = escape(&report.zone),
        version = report
            .lake_version
            .map_or_else(|| "none".to_string(), |v| v.to_string())
    );
    page
}

fn summary(page: &mut String, r: &LoadReport) {
    let t = &r.totals;
    let rows = [
        ("Feeder", r.feeder_id.clone().unwrap_or_else(|| "–".into())),
        ("Customer meters", r.customers.to_string()),
        (
            "Supply meter",
            r.supply_meter_id.clone().unwrap_or_else(|| "–".into()),
        ),
        ("Energy", format!("{} kWh", num(Some(t.energy_kwh), 2))),
        ("PV export", format!("{} kWh", num(Some(t.export_kwh), 2))),
        (
            "Maximum load",
            format!(
                "{} kW at {}",
                num(t.max_kw, 2),
                t.max_at.as_deref().unwrap_or("–")
            ),
        ),
        (
            "Minimum load",
            format!(
                "{} kW at {}",
                num(t.min_kw, 2),
                t.min_at.as_deref().unwrap_or("–")
            ),
        ),
        (
            "Line loss (complete days)",
            format!(
                "{} kWh, {}",
                num(t.line_loss_kwh, 2),
                percent(t.line_loss_rate)
            ),
        ),
        ("Collection completeness", percent(Some(t.completeness))),
    ];
    page.push_str("<h2>Summary</h2><dl>");
    for (name, value) in rows {
        let _ = write!(page, "<dt>{}</dt><dd>{}</dd>", escape(name), escape(&value));
    }
    page.push_str("</dl>");
}

fn charts(page: &mut String, r: &LoadReport) {
    let dates: Vec<String> = r
        .days
        .iter()
        .map(|d| d.date.format("%m-%d").to_string())
        .collect();
    let every = (dates.len() / 12).max(1);
    page.push_str("<h2>Charts</h2>");
    page.push_str(&chart(
        ChartKind::Bar,
        "Daily energy",
        "kWh",
        &dates,
        &[
            Series {
                name: "consumption",
                color: "#2f6db5",
                values: r.days.iter().map(|d| Some(d.energy_kwh)).collect(),
            },
            Series {
                name: "PV export",
                color: "#e0a800",
                values: r.days.iter().map(|d| Some(d.export_kwh)).collect(),
            },
        ],
        every,
    ));
    page.push_str(&chart(
        ChartKind::Line,
        "Daily maximum, average and minimum load",
        "kW",
        &dates,
        &[
            Series {
                name: "maximum",
                color: "#c0392b",
                values: r.days.iter().map(|d| d.max_kw).collect(),
            },
            Series {
                name: "average",
                color: "#2f6db5",
                values: r.days.iter().map(|d| d.avg_kw).collect(),
            },
            Series {
                name: "minimum",
                color: "#27ae60",
                values: r.days.iter().map(|d| d.min_kw).collect(),
            },
        ],
        every,
    ));
    let slots: Vec<String> = (0..SLOTS as u32).map(slot_time).collect();
    page.push_str(&chart(
        ChartKind::Line,
        "Typical 96-point curves",
        "kW",
        &slots,
        &[
            Series {
                name: "weekday",
                color: "#2f6db5",
                values: r.typical_weekday_kw.clone(),
            },
            Series {
                name: "weekend",
                color: "#c0392b",
                values: r.typical_weekend_kw.clone(),
            },
        ],
        8,
    ));
    page.push_str(&chart(
        ChartKind::Bar,
        "Collection completeness",
        "%",
        &dates,
        &[Series {
            name: "measured intervals",
            color: "#7f8c8d",
            values: r
                .days
                .iter()
                .map(|d| Some(d.completeness * 100.0))
                .collect(),
        }],
        every,
    ));
}

fn days_table(page: &mut String, r: &LoadReport) {
    page.push_str(
        "<h2>Days</h2><table><tr><th>date</th><th>energy kWh</th><th>export kWh</th><th>max kW</th><th>at</th>\
         <th>min kW</th><th>at</th><th>avg kW</th><th>load factor</th><th>peak–valley kW</th><th>rate</th>\
         <th>line loss kWh</th><th>rate</th><th>complete</th></tr>",
    );
    for d in &r.days {
        let _ = write!(
            page,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            d.date,
            num(Some(d.energy_kwh), 2),
            num(Some(d.export_kwh), 2),
            num(d.max_kw, 2),
            d.max_at.as_deref().unwrap_or("–"),
            num(d.min_kw, 2),
            d.min_at.as_deref().unwrap_or("–"),
            num(d.avg_kw, 2),
            num(d.load_factor, 3),
            num(d.peak_valley_kw, 2),
            percent(d.peak_valley_rate),
            num(d.line_loss_kwh, 2),
            percent(d.line_loss_rate),
            percent(Some(d.completeness)),
        );
    }
    page.push_str("</table>");
}

fn months_table(page: &mut String, r: &LoadReport) {
    page.push_str(
        "<h2>Months (whole calendar months)</h2><table><tr><th>month</th><th>energy kWh</th><th>export kWh</th>\
         <th>previous month kWh</th><th>month over month</th><th>a year before kWh</th><th>year over year</th></tr>",
    );
    for m in &r.months {
        let _ = write!(
            page,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&m.month),
            num(Some(m.energy_kwh), 2),
            num(Some(m.export_kwh), 2),
            num(m.previous_month_kwh, 2),
            percent(m.month_over_month),
            num(m.previous_year_kwh, 2),
            percent(m.year_over_year),
        );
    }
    page.push_str("</table>");
}

fn top_table(page: &mut String, r: &LoadReport) {
    let _ = write!(
        page,
        "<h2>Top {} consumers</h2><table><tr><th>meter</th><th>customer</th><th>energy kWh</th></tr>",
        r.top_consumers.len()
    );
    for c in &r.top_consumers {
        let _ = write!(
            page,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&c.meter_id),
            escape(c.customer_id.as_deref().unwrap_or("–")),
            num(Some(c.energy_kwh), 2)
        );
    }
    page.push_str("</table>");
}
