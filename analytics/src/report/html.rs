//! A load report as one self-contained HTML page: summary, SVG charts (daily energy, daily loads, typical
//! curves, completeness) and tables, with inline styles and no scripts or external files.

use std::fmt::Write;

use super::labels::{Labels, Language};
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

/// The report as an HTML document in `lang`.
pub fn render(report: &LoadReport, lang: Language) -> String {
    let mut page = String::new();
    let title = lang.labels().title(
        &report.area_id,
        &report.from.to_string(),
        &report.to.to_string(),
    );
    let _ = write!(
        page,
        "<!DOCTYPE html><html lang=\"{code}\"><head><meta charset=\"utf-8\"><title>{t}</title><style>{STYLE}</style></head><body><h1>{t}</h1>",
        code = lang.html_code(),
        t = escape(&title)
    );
    page.push_str(&body(report, lang));
    page.push_str("</body></html>");
    page
}

/// The report's content in `lang` without the document around it (summary, charts, tables, the note
/// on units), for embedding in another page.
pub fn body(report: &LoadReport, lang: Language) -> String {
    let labels = lang.labels();
    let mut page = String::new();
    summary(&mut page, report, labels);
    charts(&mut page, report, labels);
    days_table(&mut page, report, labels);
    months_table(&mut page, report, labels);
    top_table(&mut page, report, labels);
    let version = report
        .lake_version
        .map_or_else(|| "–".to_string(), |v| v.to_string());
    let _ = write!(
        page,
        "<p class=\"muted\">{}</p>",
        escape(&labels.note(&report.zone, &version))
    );
    page
}

/// A table's header row.
fn header(page: &mut String, columns: &[&str]) {
    page.push_str("<table><tr>");
    for column in columns {
        let _ = write!(page, "<th>{}</th>", escape(column));
    }
    page.push_str("</tr>");
}

fn summary(page: &mut String, r: &LoadReport, l: &Labels) {
    let t = &r.totals;
    let values = [
        r.feeder_id.clone().unwrap_or_else(|| "–".into()),
        r.customers.to_string(),
        r.supply_meter_id.clone().unwrap_or_else(|| "–".into()),
        format!("{} kWh", num(Some(t.energy_kwh), 2)),
        format!("{} kWh", num(Some(t.export_kwh), 2)),
        l.load_at(&num(t.max_kw, 2), t.max_at.as_deref().unwrap_or("–")),
        l.load_at(&num(t.min_kw, 2), t.min_at.as_deref().unwrap_or("–")),
        format!(
            "{} kWh, {}",
            num(t.line_loss_kwh, 2),
            percent(t.line_loss_rate)
        ),
        percent(Some(t.completeness)),
    ];
    let _ = write!(page, "<h2>{}</h2><dl>", escape(l.summary));
    for (name, value) in l.summary_rows.iter().zip(values) {
        let _ = write!(page, "<dt>{}</dt><dd>{}</dd>", escape(name), escape(&value));
    }
    page.push_str("</dl>");
}

fn charts(page: &mut String, r: &LoadReport, l: &Labels) {
    let dates: Vec<String> = r
        .days
        .iter()
        .map(|d| d.date.format("%m-%d").to_string())
        .collect();
    let every = (dates.len() / 12).max(1);
    let _ = write!(page, "<h2>{}</h2>", escape(l.charts));
    page.push_str(&chart(
        ChartKind::Bar,
        l.chart_titles[0],
        "kWh",
        &dates,
        &[
            Series {
                name: l.series[0],
                color: "#2f6db5",
                values: r.days.iter().map(|d| Some(d.energy_kwh)).collect(),
            },
            Series {
                name: l.series[1],
                color: "#e0a800",
                values: r.days.iter().map(|d| Some(d.export_kwh)).collect(),
            },
        ],
        every,
    ));
    page.push_str(&chart(
        ChartKind::Line,
        l.chart_titles[1],
        "kW",
        &dates,
        &[
            Series {
                name: l.series[2],
                color: "#c0392b",
                values: r.days.iter().map(|d| d.max_kw).collect(),
            },
            Series {
                name: l.series[3],
                color: "#2f6db5",
                values: r.days.iter().map(|d| d.avg_kw).collect(),
            },
            Series {
                name: l.series[4],
                color: "#27ae60",
                values: r.days.iter().map(|d| d.min_kw).collect(),
            },
        ],
        every,
    ));
    let slots: Vec<String> = (0..SLOTS as u32).map(slot_time).collect();
    page.push_str(&chart(
        ChartKind::Line,
        l.chart_titles[2],
        "kW",
        &slots,
        &[
            Series {
                name: l.series[5],
                color: "#2f6db5",
                values: r.typical_weekday_kw.clone(),
            },
            Series {
                name: l.series[6],
                color: "#c0392b",
                values: r.typical_weekend_kw.clone(),
            },
        ],
        8,
    ));
    page.push_str(&chart(
        ChartKind::Bar,
        l.chart_titles[3],
        "%",
        &dates,
        &[Series {
            name: l.series[7],
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

fn days_table(page: &mut String, r: &LoadReport, l: &Labels) {
    let _ = write!(page, "<h2>{}</h2>", escape(l.days));
    header(page, &l.day_columns);
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

fn months_table(page: &mut String, r: &LoadReport, l: &Labels) {
    let _ = write!(page, "<h2>{}</h2>", escape(l.months));
    header(page, &l.month_columns);
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

fn top_table(page: &mut String, r: &LoadReport, l: &Labels) {
    let _ = write!(page, "<h2>{}</h2>", escape(&l.top(r.top_consumers.len())));
    header(page, &l.top_columns);
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
