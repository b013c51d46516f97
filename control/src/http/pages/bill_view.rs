//! Bills from the lake as pages show them (the account page for staff, the customer's own page): exact
//! decimals written to their unit (kWh to 0.001, prices as the plan has them, amounts to the fen), the
//! time-of-use classes named in the page's language.

use analytics::report::meter_bills::StoredBill;

use super::locale::Lang;
use super::Frame;

/// One line of a bill: tier × time of use.
pub(crate) struct LineView {
    pub tier: u8,
    pub class: String,
    pub kwh: String,
    pub price: String,
    pub amount: String,
}

/// A bill from the lake with its lines.
pub(crate) struct BillView {
    pub period: String,
    pub plan: String,
    pub kwh: String,
    pub total: String,
    pub estimated: i64,
    pub lines: Vec<LineView>,
}

/// A time-of-use class's name in `lang`: the usual classes of Chinese tariffs by their names (尖峰, 高峰,
/// 平段, 低谷, 深谷), any other as the plan spells it.
pub(crate) fn class_name(lang: Lang, class: &str) -> String {
    let names = match class {
        "sharp" => ("尖峰", "sharp peak"),
        "peak" => ("高峰", "peak"),
        "flat" => ("平段", "flat"),
        "valley" => ("低谷", "valley"),
        "deep_valley" => ("深谷", "deep valley"),
        other => return other.to_string(),
    };
    lang.pick(names).to_string()
}

/// The bills as shown.
pub(crate) fn bill_views(frame: &Frame, bills: &[StoredBill]) -> Vec<BillView> {
    bills
        .iter()
        .map(|b| BillView {
            period: b.period.clone(),
            plan: b.plan.clone(),
            kwh: format!("{:.3}", b.billed_kwh),
            total: frame.lang.money(b.total),
            estimated: b.estimated_intervals,
            lines: b
                .lines
                .iter()
                .map(|l| LineView {
                    tier: l.tier,
                    class: class_name(frame.lang, &l.class),
                    kwh: format!("{:.3}", l.kwh),
                    price: l.price.normalize().to_string(),
                    amount: frame.lang.money(l.amount),
                })
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usual_classes_are_named_in_the_page_language_and_others_kept() {
        assert_eq!(class_name(Lang::Zh, "valley"), "低谷");
        assert_eq!(class_name(Lang::En, "deep_valley"), "deep valley");
        assert_eq!(class_name(Lang::Zh, "shoulder"), "shoulder");
    }
}
