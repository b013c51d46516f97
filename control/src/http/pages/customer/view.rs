//! The customer page's parts: usage charts (daily bars, monthly bars), saving tips, bills (charges per
//! month with what was paid), the payment and charge history, and the plan's price table.

use std::collections::BTreeMap;

use analytics::prediction::clusters::UsageClass;
use analytics::report::meter_usage::MeterUsage;
use analytics::report::svg::{chart, ChartKind, Series};
use rust_decimal::Decimal;

use super::super::labels::Label;
use super::super::locale::Lang;
use super::super::Frame;
use crate::app::Control;
use crate::domain::advice::advise;
use crate::domain::notice::Language;
use crate::store::ledger::{Entry, EntryKind};

/// The usage charts.
pub(crate) struct Usage {
    pub daily_chart: String,
    pub monthly_chart: String,
}

impl Usage {
    /// The charts of `usage`.
    pub fn new(frame: &Frame, usage: &MeterUsage) -> Self {
        let t = frame.t.my;
        let unit = frame.t.account.kwh;
        let days: Vec<String> = usage
            .days
            .iter()
            .map(|(d, _)| d.format("%m-%d").to_string())
            .collect();
        let daily = [Series {
            name: unit,
            color: "#2f6fbd",
            values: usage.days.iter().map(|(_, k)| *k).collect(),
        }];
        let months: Vec<String> = usage.months.iter().map(|(m, _)| m.clone()).collect();
        let monthly = [Series {
            name: unit,
            color: "#3c8d5a",
            values: usage.months.iter().map(|(_, k)| *k).collect(),
        }];
        Self {
            daily_chart: chart(ChartKind::Bar, t.daily_usage, unit, &days, &daily, 5),
            monthly_chart: chart(ChartKind::Bar, t.monthly_usage, unit, &months, &monthly, 2),
        }
    }
}

/// The language of notices and advice for a page language.
pub(crate) fn language(lang: Lang) -> Language {
    match lang {
        Lang::Zh => Language::Zh,
        Lang::En => Language::En,
    }
}

/// Saving tips from the usage class, the peak share and the daily average.
pub(crate) fn advice(frame: &Frame, usage: Option<&MeterUsage>) -> Vec<String> {
    let class = usage
        .and_then(|u| u.class.as_ref())
        .and_then(|(name, _)| UsageClass::parse(name));
    let peak_share = usage.and_then(|u| u.peak_share);
    let measured: Vec<f64> = usage
        .map(|u| u.days.iter().filter_map(|(_, k)| *k).collect())
        .unwrap_or_default();
    let daily =
        (!measured.is_empty()).then(|| measured.iter().sum::<f64>() / measured.len() as f64);
    advise(class, peak_share, daily)
        .iter()
        .map(|a| a.words(language(frame.lang)))
        .collect()
}

/// One month's bill: what was charged and what was paid.
pub(crate) struct BillRow {
    pub month: String,
    pub charged: String,
    pub paid: String,
}

/// Charges and payments per local month, newest first.
pub(crate) fn bill_rows(frame: &Frame, entries: &[Entry]) -> Vec<BillRow> {
    let mut months: BTreeMap<String, (Decimal, Decimal)> = BTreeMap::new();
    for e in entries {
        let month = e.at.with_timezone(&frame.zone).format("%Y-%m").to_string();
        let sums = months.entry(month).or_default();
        match e.kind {
            EntryKind::Charge => sums.0 -= e.amount,
            EntryKind::Payment => sums.1 += e.amount,
            EntryKind::Opening | EntryKind::Refund | EntryKind::Correction => {}
        }
    }
    months
        .into_iter()
        .rev()
        .map(|(month, (charged, paid))| BillRow {
            month,
            charged: frame.lang.money(charged),
            paid: frame.lang.money(paid),
        })
        .collect()
}

/// One payment or charge.
pub(crate) struct HistoryRow {
    pub at: String,
    pub kind: &'static str,
    pub amount: String,
    pub credit: bool,
    pub balance_after: String,
}

/// The newest payments and charges.
pub(crate) fn history_rows(frame: &Frame, entries: &[Entry]) -> Vec<HistoryRow> {
    entries
        .iter()
        .take(20)
        .map(|e| HistoryRow {
            at: frame.at(e.at),
            kind: e.kind.label(frame.lang),
            amount: frame.lang.money(e.amount),
            credit: e.amount.is_sign_positive(),
            balance_after: frame.lang.money(e.balance_after),
        })
        .collect()
}

/// The plan's prices in force now: tier rows × time-of-use columns.
pub(crate) struct PriceTable {
    pub plan: String,
    pub classes: Vec<String>,
    pub rows: Vec<(String, Vec<String>)>,
}

/// The price table of `plan`, if the plan is known and has a version in force.
pub(crate) fn price_table(frame: &Frame, control: &Control, plan: &str) -> Option<PriceTable> {
    let tariff = control.rules().plans.get(plan)?;
    let now = control.now().with_timezone(&frame.zone).naive_local();
    let (_, version) = tariff.version_at(now)?;
    let prices = &version.prices;
    let rows = (0..prices.tiers)
        .map(|tier| {
            let cells = (0..prices.classes.len())
                .map(|class| {
                    prices
                        .price(tier, class)
                        .map_or_else(|| "—".to_string(), |p| format!("{p:.4}"))
                })
                .collect();
            (format!("{} {}", frame.t.my.tier, tier + 1), cells)
        })
        .collect();
    Some(PriceTable {
        plan: tariff.name.clone(),
        classes: prices
            .classes
            .iter()
            .map(|c| super::super::bill_view::class_name(frame.lang, c))
            .collect(),
        rows,
    })
}
