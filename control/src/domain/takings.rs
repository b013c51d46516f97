//! A day's takings (收费日结): the money each taker — a cashier, the CLI, an online payment provider —
//! took in and paid back, tallied from the audit trail's payment and refund records (the chain an
//! auditor verifies, written in each payment's own transaction). Amounts are exact yuan.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::audit::{AuditAction, AuditEntry, Outcome};

/// What one taker took in and paid back.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct TakerTotals {
    /// Who (a username, `cli`, `provider:<name>`), or `total` for the sum of all.
    pub taker: String,
    /// Payments booked.
    pub payments: u64,
    /// Their sum, yuan.
    pub paid: Decimal,
    /// Refunds booked.
    pub refunds: u64,
    /// Their sum, yuan (positive: money given back).
    pub refunded: Decimal,
    /// Paid less refunded, yuan.
    pub net: Decimal,
}

impl TakerTotals {
    fn named(taker: &str) -> Self {
        Self {
            taker: taker.to_string(),
            ..Self::default()
        }
    }

    fn add(&mut self, other: &Self) {
        self.payments += other.payments;
        self.paid += other.paid;
        self.refunds += other.refunds;
        self.refunded += other.refunded;
        self.net = self.paid - self.refunded;
    }
}

/// One payment or refund as the audit trail recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taking {
    /// Who booked it.
    pub taker: String,
    /// Positive for a payment, negative for a refund, yuan.
    pub amount: Decimal,
}

/// The payment or refund an audit entry records, if it is one that moved money (`Ok`); an entry of
/// that kind whose amount cannot be read is an error (the trail is the day close's source).
pub fn taking(entry: &AuditEntry) -> Result<Option<Taking>, String> {
    let path: &[&str] = match (entry.action, entry.outcome) {
        (AuditAction::Payment, Outcome::Ok) => &["amount"],
        (AuditAction::Refund, Outcome::Ok) => &["entry", "amount"],
        _ => return Ok(None),
    };
    let after: serde_json::Value = entry
        .after
        .as_deref()
        .and_then(|text| serde_json::from_str(text).ok())
        .ok_or_else(|| {
            format!(
                "{} on {}: no readable record",
                entry.action.as_str(),
                entry.object
            )
        })?;
    let value = path.iter().try_fold(&after, |v, key| v.get(key));
    let amount = match value {
        Some(serde_json::Value::String(text)) => text.parse::<Decimal>().ok(),
        Some(serde_json::Value::Number(n)) => n.to_string().parse::<Decimal>().ok(),
        _ => None,
    }
    .ok_or_else(|| format!("{} on {}: no amount", entry.action.as_str(), entry.object))?;
    Ok(Some(Taking {
        taker: entry.actor.clone(),
        amount,
    }))
}

/// Tallies `takings` per taker (ordered by name) and their total.
pub fn tally(takings: &[Taking]) -> (Vec<TakerTotals>, TakerTotals) {
    let mut by_taker: BTreeMap<&str, TakerTotals> = BTreeMap::new();
    for t in takings {
        let totals = by_taker
            .entry(t.taker.as_str())
            .or_insert_with(|| TakerTotals::named(&t.taker));
        let one = if t.amount >= Decimal::ZERO {
            TakerTotals {
                payments: 1,
                paid: t.amount,
                ..TakerTotals::default()
            }
        } else {
            TakerTotals {
                refunds: 1,
                refunded: -t.amount,
                ..TakerTotals::default()
            }
        };
        totals.add(&one);
    }
    let mut total = TakerTotals::named("total");
    for totals in by_taker.values() {
        total.add(totals);
    }
    (by_taker.into_values().collect(), total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn entry(action: AuditAction, outcome: Outcome, actor: &str, after: &str) -> AuditEntry {
        AuditEntry {
            actor: actor.into(),
            action,
            object: "account:000000000001".into(),
            before: None,
            after: Some(after.into()),
            origin: "10.0.0.1".into(),
            outcome,
        }
    }

    #[test]
    fn payments_and_refunds_are_read_from_their_records_and_nothing_else() {
        let paid = entry(
            AuditAction::Payment,
            Outcome::Ok,
            "till-1",
            r#"{"amount":"100.00","balance":"150.00"}"#,
        );
        assert_eq!(
            taking(&paid).unwrap(),
            Some(Taking {
                taker: "till-1".into(),
                amount: dec!(100.00)
            })
        );
        let refunded = entry(
            AuditAction::Refund,
            Outcome::Ok,
            "till-1",
            r#"{"entry":{"amount":"-30.50"}}"#,
        );
        assert_eq!(taking(&refunded).unwrap().unwrap().amount, dec!(-30.50));
        let refused = entry(
            AuditAction::Refund,
            Outcome::Refused,
            "till-1",
            r#"{"amount":"900.00"}"#,
        );
        assert_eq!(
            taking(&refused).unwrap(),
            None,
            "a refused refund moved no money"
        );
        let login = entry(AuditAction::Login, Outcome::Ok, "till-1", "{}");
        assert_eq!(taking(&login).unwrap(), None);
        let broken = entry(
            AuditAction::Payment,
            Outcome::Ok,
            "till-1",
            r#"{"balance":"1"}"#,
        );
        assert!(taking(&broken).unwrap_err().contains("no amount"));
    }

    #[test]
    fn takings_add_up_per_taker_and_in_total_exactly() {
        let t = |taker: &str, amount| Taking {
            taker: taker.into(),
            amount,
        };
        let takings = [
            t("till-2", dec!(0.10)),
            t("till-1", dec!(100.00)),
            t("till-2", dec!(0.20)),
            t("provider:sim", dec!(50.00)),
            t("till-1", dec!(-30.50)),
        ];
        let (takers, total) = tally(&takings);
        let names: Vec<&str> = takers.iter().map(|t| t.taker.as_str()).collect();
        assert_eq!(names, ["provider:sim", "till-1", "till-2"]);
        assert_eq!(
            takers[1],
            TakerTotals {
                taker: "till-1".into(),
                payments: 1,
                paid: dec!(100.00),
                refunds: 1,
                refunded: dec!(30.50),
                net: dec!(69.50),
            }
        );
        assert_eq!(takers[2].paid, dec!(0.30), "0.1 + 0.2 is exactly 0.3");
        assert_eq!((total.payments, total.refunds), (4, 1));
        assert_eq!(
            (total.paid, total.refunded, total.net),
            (dec!(150.30), dec!(30.50), dec!(119.80))
        );
        assert_eq!(tally(&[]).1, TakerTotals::named("total"));
    }
}
