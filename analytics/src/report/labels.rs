//! The load report's words in the two languages planners read it in (中文 by default, English).

/// The language a report is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Language {
    /// Simplified Chinese.
    #[default]
    Zh,
    /// English.
    En,
}

impl Language {
    /// The language a code names (`zh`, `en`).
    pub fn parse(code: &str) -> Option<Self> {
        match code {
            "zh" | "zh-CN" => Some(Self::Zh),
            "en" => Some(Self::En),
            _ => None,
        }
    }

    /// The code for `<html lang>`.
    pub fn html_code(self) -> &'static str {
        match self {
            Self::Zh => "zh-CN",
            Self::En => "en",
        }
    }

    /// The report's labels in this language.
    pub fn labels(self) -> &'static Labels {
        match self {
            Self::Zh => &ZH,
            Self::En => &EN,
        }
    }
}

/// Every fixed word of a load report.
#[derive(Debug)]
pub struct Labels {
    /// Which language these are.
    pub language: Language,
    /// "Summary" heading.
    pub summary: &'static str,
    /// Summary rows, in order: feeder, customer meters, supply meter, energy, PV export, maximum
    /// load, minimum load, line loss over complete days, collection completeness.
    pub summary_rows: [&'static str; 9],
    /// "Charts" heading.
    pub charts: &'static str,
    /// Chart titles: daily energy, daily loads, typical curves, completeness.
    pub chart_titles: [&'static str; 4],
    /// Series: consumption, PV export, maximum, average, minimum, weekday, weekend, measured intervals.
    pub series: [&'static str; 8],
    /// "Days" heading.
    pub days: &'static str,
    /// The days table's columns.
    pub day_columns: [&'static str; 14],
    /// "Months" heading.
    pub months: &'static str,
    /// The months table's columns.
    pub month_columns: [&'static str; 7],
    /// The top consumers table's columns.
    pub top_columns: [&'static str; 3],
}

impl Labels {
    /// The report's title.
    pub fn title(&self, area: &str, from: &str, to: &str) -> String {
        match self.language {
            Language::Zh => format!("台区负荷报表 — 台区 {area} — {from} 至 {to}"),
            Language::En => format!("Load report — area {area} — {from} to {to}"),
        }
    }

    /// A load with the local time it was reached.
    pub fn load_at(&self, kw: &str, at: &str) -> String {
        match self.language {
            Language::Zh => format!("{kw} kW（{at}）"),
            Language::En => format!("{kw} kW at {at}"),
        }
    }

    /// The top consumers heading.
    pub fn top(&self, n: usize) -> String {
        match self.language {
            Language::Zh => format!("用电量前 {n} 名用户"),
            Language::En => format!("Top {n} consumers"),
        }
    }

    /// The note on times, loads and the lake version under the report.
    pub fn note(&self, zone: &str, version: &str) -> String {
        match self.language {
            Language::Zh => format!(
                "日期和时间均为当地时间（{zone}）。负荷为台区用户电表的 15 分钟平均值（只计实测时段，缺失时段从不按零计）。\
                 数据湖版本 {version}。"
            ),
            Language::En => format!(
                "Dates and times are local ({zone}). Loads are quarter-hour averages of the area's customer meters \
                 (measured intervals only; missing intervals are never counted as zero). Lake version {version}."
            ),
        }
    }
}

static ZH: Labels = Labels {
    language: Language::Zh,
    summary: "概况",
    summary_rows: [
        "馈线",
        "用户电表数",
        "台区总表",
        "用电量",
        "光伏上网电量",
        "最大负荷",
        "最小负荷",
        "线损（完整日）",
        "采集完整率",
    ],
    charts: "图表",
    chart_titles: [
        "日用电量",
        "日最大、平均、最小负荷",
        "典型日 96 点负荷曲线",
        "采集完整率",
    ],
    series: [
        "用电量",
        "光伏上网",
        "最大",
        "平均",
        "最小",
        "工作日",
        "休息日",
        "实测时段",
    ],
    days: "日报表",
    day_columns: [
        "日期",
        "用电量 kWh",
        "上网电量 kWh",
        "最大负荷 kW",
        "时间",
        "最小负荷 kW",
        "时间",
        "平均负荷 kW",
        "负荷率",
        "峰谷差 kW",
        "峰谷差率",
        "线损电量 kWh",
        "线损率",
        "完整率",
    ],
    months: "月报表（整月）",
    month_columns: [
        "月份",
        "用电量 kWh",
        "上网电量 kWh",
        "上月 kWh",
        "环比",
        "去年同月 kWh",
        "同比",
    ],
    top_columns: ["电表", "用户", "用电量 kWh"],
};

static EN: Labels = Labels {
    language: Language::En,
    summary: "Summary",
    summary_rows: [
        "Feeder",
        "Customer meters",
        "Supply meter",
        "Energy",
        "PV export",
        "Maximum load",
        "Minimum load",
        "Line loss (complete days)",
        "Collection completeness",
    ],
    charts: "Charts",
    chart_titles: [
        "Daily energy",
        "Daily maximum, average and minimum load",
        "Typical 96-point curves",
        "Collection completeness",
    ],
    series: [
        "consumption",
        "PV export",
        "maximum",
        "average",
        "minimum",
        "weekday",
        "weekend",
        "measured intervals",
    ],
    days: "Days",
    day_columns: [
        "date",
        "energy kWh",
        "export kWh",
        "max kW",
        "at",
        "min kW",
        "at",
        "avg kW",
        "load factor",
        "peak–valley kW",
        "rate",
        "line loss kWh",
        "rate",
        "complete",
    ],
    months: "Months (whole calendar months)",
    month_columns: [
        "month",
        "energy kWh",
        "export kWh",
        "previous month kWh",
        "month over month",
        "a year before kWh",
        "year over year",
    ],
    top_columns: ["meter", "customer", "energy kWh"],
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_languages_have_every_word() {
        for lang in [Language::Zh, Language::En] {
            let l = lang.labels();
            assert_eq!(l.language, lang);
            let words = [l.summary, l.charts, l.days, l.months]
                .into_iter()
                .chain(l.summary_rows)
                .chain(l.chart_titles)
                .chain(l.series)
                .chain(l.day_columns)
                .chain(l.month_columns)
                .chain(l.top_columns);
            for word in words {
                assert!(!word.trim().is_empty(), "{lang:?}");
            }
            assert_eq!(Language::parse(lang.html_code()), Some(lang));
        }
        assert_eq!(Language::parse("fr"), None);
        assert!(Language::Zh
            .labels()
            .title("a-1", "2026-10-01", "2026-10-07")
            .contains("至"));
        assert_eq!(
            Language::En.labels().load_at("6.00", "10:00"),
            "6.00 kW at 10:00"
        );
    }
}
