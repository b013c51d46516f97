//! Property tests of the pricing engine, including a straightforward `Decimal` reference
//! implementation that the integer engine must match exactly.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use proptest::prelude::*;
use rust_decimal::Decimal;

use super::ladder::tier_of;
use super::*;

const ZONE: Tz = chrono_tz::Asia::Shanghai;
const PLANS: [&str; 4] = [
    "beijing-residential",
    "shanghai-residential",
    "zhejiang-residential",
    "shanghai-tou-tier1",
];

fn start() -> DateTime<Utc> {
    ZONE.with_ymd_and_hms(2026, 12, 1, 0, 0, 0)
        .single()
        .unwrap()
        .with_timezone(&Utc)
}

fn two_months() -> BillingPeriod {
    BillingPeriod {
        start: start(),
        end: ZONE
            .with_ymd_and_hms(2027, 2, 1, 0, 0, 0)
            .single()
            .unwrap()
            .with_timezone(&Utc),
    }
}

/// Intervals from (gap in 15-minute steps, energy in 0.01 kWh) pairs, kept inside the period.
fn intervals(raw: &[(u32, i64)]) -> Vec<Interval> {
    let period = two_months();
    let mut at = period.start;
    let mut out = Vec::new();
    for (gap, hundredths) in raw {
        at += Duration::minutes(15 * i64::from(*gap));
        if at >= period.end {
            break;
        }
        out.push(Interval {
            start: at,
            kwh: Decimal::new(*hundredths, 2),
        });
    }
    out
}

fn usage_strategy() -> impl Strategy<Value = Vec<(u32, i64)>> {
    prop::collection::vec((0u32..400, 0i64..6_000), 0..120)
}

fn with_allocation(name: &str, allocation: &str) -> TariffPlan {
    let plan = builtin(name).unwrap();
    let file = format!("tariffs/{name}.toml");
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(&file),
    )
    .unwrap();
    let text = if text.contains("allocation = ") {
        text.replace(
            "allocation = \"chronological\"",
            &format!("allocation = \"{allocation}\""),
        )
    } else {
        text.replacen(
            "\n[[versions]]",
            &format!("\nallocation = \"{allocation}\"\n\n[[versions]]"),
            1,
        )
    };
    let changed = TariffPlan::from_toml(&text, &file).unwrap();
    assert_eq!(changed.name, plan.name);
    changed
}

/// The straightforward reference: Decimal arithmetic, one interval at a time, looking up version,
/// class, thresholds and settlements directly from the plan.
fn reference(
    plan: &TariffPlan,
    period: BillingPeriod,
    ladder_start: Decimal,
    intervals: &[Interval],
) -> BTreeMap<(NaiveDateTime, u8, String), Decimal> {
    let local = |t: DateTime<Utc>| t.with_timezone(&ZONE).naive_local();
    let mut lines: BTreeMap<(NaiveDateTime, u8, String), Decimal> = BTreeMap::new();
    let mut acc = ladder_start;
    let mut previous = local(period.start);
    for interval in intervals {
        let at = local(interval.start);
        let (_, version) = plan.version_at(at).unwrap();
        if !version.ladder.settlements_between(previous, at).is_empty() {
            acc = Decimal::ZERO;
        }
        previous = at;
        let class =
            &version.prices.classes[usize::from(version.tou.as_ref().unwrap().class_index_at(at))];
        let thresholds = version.ladder.thresholds_at(at);
        let mut rest = interval.kwh.max(Decimal::ZERO);
        while rest > Decimal::ZERO {
            // The tier of the next bit of energy: the first threshold above `acc`.
            let tier = tier_of(&acc, thresholds);
            let tier = if thresholds.get(tier) == Some(&acc) {
                tier + 1
            } else {
                tier
            };
            let room = thresholds.get(tier).map_or(rest, |t| (*t - acc).min(rest));
            *lines
                .entry((version.effective_from, (tier + 1) as u8, class.clone()))
                .or_default() += room;
            acc += room;
            rest -= room;
        }
    }
    lines
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    #[test]
    fn integer_engine_matches_the_decimal_reference(
        plan in 0usize..PLANS.len(),
        raw in usage_strategy(),
        ladder_start in 0i64..400_000,
    ) {
        let plan = builtin(PLANS[plan]).unwrap();
        let intervals = intervals(&raw);
        let ladder_start = Decimal::new(ladder_start, 2);
        let bill = Pricer::new(plan.clone(), ZONE)
            .price(two_months(), &AccountTerms::default(), ladder_start, &intervals)
            .unwrap();
        let expected = reference(&plan, two_months(), ladder_start, &intervals);
        let got: BTreeMap<_, _> = bill
            .lines
            .iter()
            .map(|l| ((l.effective_from, l.tier, l.class.clone()), l.kwh))
            .collect();
        prop_assert_eq!(got, expected);
        for line in &bill.lines {
            prop_assert_eq!(line.amount, line.kwh * line.price);
        }
    }

    #[test]
    fn total_is_the_rounded_sum_of_lines(
        plan in 0usize..PLANS.len(),
        pro_rata in any::<bool>(),
        raw in usage_strategy(),
        ladder_start in 0i64..400_000,
    ) {
        let plan = with_allocation(PLANS[plan], if pro_rata { "pro_rata" } else { "chronological" });
        let intervals = intervals(&raw);
        let bill = Pricer::new(plan, ZONE)
            .price(two_months(), &AccountTerms::default(), Decimal::new(ladder_start, 2), &intervals)
            .unwrap();
        let sum: Decimal = bill.lines.iter().map(|l| l.amount).sum();
        prop_assert_eq!(bill.unrounded_total, sum);
        prop_assert_eq!(bill.total, sum.round_dp_with_strategy(2, FEN_ROUNDING));
        let consumed: Decimal = intervals.iter().map(|i| i.kwh).sum();
        prop_assert_eq!(bill.billed_kwh, consumed);
    }

    #[test]
    fn more_consumption_never_costs_less(
        plan in 0usize..PLANS.len(),
        raw in usage_strategy(),
        pick in any::<prop::sample::Index>(),
        extra in 0i64..10_000,
        ladder_start in 0i64..400_000,
    ) {
        let pricer = Pricer::new(builtin(PLANS[plan]).unwrap(), ZONE);
        let intervals = intervals(&raw);
        prop_assume!(!intervals.is_empty());
        let mut more = intervals.clone();
        more[pick.index(intervals.len())].kwh += Decimal::new(extra, 2);
        let ladder_start = Decimal::new(ladder_start, 2);
        let terms = AccountTerms::default();
        let before = pricer.price(two_months(), &terms, ladder_start, &intervals).unwrap();
        let after = pricer.price(two_months(), &terms, ladder_start, &more).unwrap();
        prop_assert!(after.unrounded_total >= before.unrounded_total);
        prop_assert!(after.total >= before.total);
    }

    #[test]
    fn one_tou_class_makes_pro_rata_equal_chronological(
        flat in any::<bool>(),
        raw in usage_strategy(),
        ladder_start in 0i64..400_000,
    ) {
        // Beijing is flat all day; for Shanghai every interval is moved into the peak hours
        // (10:00–20:00 local), so the period has a single TOU class.
        let name = if flat { "beijing-residential" } else { "shanghai-residential" };
        let mut intervals = intervals(&raw);
        if !flat {
            for interval in &mut intervals {
                let local = interval.start.with_timezone(&ZONE);
                let day = local.date_naive().and_hms_opt(10, 0, 0).unwrap();
                let minutes = (interval.start - start()).num_minutes().rem_euclid(600);
                interval.start = ZONE.from_local_datetime(&(day + Duration::minutes(minutes))).single().unwrap().with_timezone(&Utc);
            }
            intervals.sort_by_key(|i| i.start);
            intervals.dedup_by_key(|i| i.start);
        }
        let ladder_start = Decimal::new(ladder_start, 2);
        let terms = AccountTerms::default();
        let chrono = Pricer::new(with_allocation(name, "chronological"), ZONE)
            .price(two_months(), &terms, ladder_start, &intervals).unwrap();
        let pro_rata = Pricer::new(with_allocation(name, "pro_rata"), ZONE)
            .price(two_months(), &terms, ladder_start, &intervals).unwrap();
        prop_assert_eq!(chrono.lines, pro_rata.lines);
        prop_assert_eq!(chrono.total, pro_rata.total);
    }

    #[test]
    fn consumption_up_to_a_threshold_stays_in_the_lower_tier(
        plan in 0usize..3,
        used in 0i64..=100,
        parts in prop::collection::vec(1u32..100, 1..20),
    ) {
        // Start at `used` % of tier 1 and add exactly the rest of tier 1, split at random.
        let pricer = Pricer::new(builtin(PLANS[plan]).unwrap(), ZONE);
        let period = BillingPeriod { start: start(), end: start() + Duration::days(20) };
        let local = period.start.with_timezone(&ZONE).naive_local();
        let threshold = pricer.plan().versions.last().unwrap().ladder.thresholds_at(local)[0];
        let ladder_start = (threshold * Decimal::new(used, 2)).round_dp(2);
        let rest = threshold - ladder_start;
        let weight: u32 = parts.iter().sum();
        let mut given = Decimal::ZERO;
        let mut intervals = Vec::new();
        for (i, part) in parts.iter().enumerate() {
            let kwh = if i + 1 == parts.len() {
                rest - given
            } else {
                (rest * Decimal::from(*part) / Decimal::from(weight)).round_dp(2)
            };
            given += kwh;
            intervals.push(Interval { start: period.start + Duration::hours(i as i64), kwh });
        }
        prop_assume!(intervals.iter().all(|i| i.kwh >= Decimal::ZERO));
        let bill = pricer.price(period, &AccountTerms::default(), ladder_start, &intervals).unwrap();
        prop_assert!(bill.lines.iter().all(|l| l.tier == 1), "{:?}", bill.lines);
        prop_assert_eq!(bill.ladder_end_kwh, threshold);
    }

    #[test]
    fn daily_charges_and_true_up_equal_the_bill(
        plan in 0usize..PLANS.len(),
        pro_rata in any::<bool>(),
        raw in usage_strategy(),
        ladder_start in 0i64..400_000,
    ) {
        let plan = with_allocation(PLANS[plan], if pro_rata { "pro_rata" } else { "chronological" });
        let pricer = Pricer::new(plan, ZONE);
        let intervals = intervals(&raw);
        let ladder_start = Decimal::new(ladder_start, 2);
        let terms = AccountTerms::default();
        let bill = pricer.price(two_months(), &terms, ladder_start, &intervals).unwrap();
        let daily = daily_charges(&pricer, two_months(), &terms, ladder_start, &intervals).unwrap();
        prop_assert_eq!(daily.days.len(), 62);
        let charged: Decimal = daily.days.iter().map(|d| d.charge).sum();
        prop_assert_eq!(charged + daily.true_up, bill.total);
        prop_assert_eq!(daily.bill_total, bill.total);
        if !pro_rata {
            let unrounded: Decimal = daily.days.iter().map(|d| d.amount).sum();
            prop_assert_eq!(unrounded, bill.unrounded_total);
            // Only rounding is trued up: at most half a fen per day.
            prop_assert!(daily.true_up.abs() <= Decimal::new(5, 3) * Decimal::from(62));
        }
    }
}

/// A token to put in place of a number in a plan file: ordinary, huge, negative, odd.
fn odd_number() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("0".to_string()),
        Just("-1".to_string()),
        Just("99999999999999999999999999999".to_string()),
        Just("79228162514264337593543950335".to_string()),
        Just("1e30".to_string()),
        Just("0.0000001".to_string()),
        Just("\"\"".to_string()),
        (0u32..100_000).prop_map(|n| n.to_string()),
    ]
}

/// How many mutated plan files the test prices: `METERLAKE_FUZZ_CASES` when set (the bounded fuzz
/// run of `scripts/fuzz.sh`), else 128.
fn mutation_cases() -> u32 {
    std::env::var("METERLAKE_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(128)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: mutation_cases(), .. ProptestConfig::default() })]

    /// Shipped plan files, mutated (a number replaced by an odd one, a line dropped or doubled, bytes
    /// flipped): parsing never panics; a plan that parses prices two months of usage without panicking
    /// or overflowing, and every line's amount is its kWh times its price.
    #[test]
    fn mutated_plan_files_parse_and_price_or_fail_with_a_reason(
        plan in 0usize..PLANS.len(),
        line in any::<prop::sample::Index>(),
        edit in 0u8..4,
        number in odd_number(),
        flip in (any::<prop::sample::Index>(), 1u8..=127),
        raw in usage_strategy(),
    ) {
        let file = format!("tariffs/{}.toml", PLANS[plan]);
        let text = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(&file),
        )
        .unwrap();
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        let at = line.index(lines.len());
        match edit {
            0 => {
                // Replace the first number on the line.
                let l = &lines[at];
                if let Some(start) = l.find(|c: char| c.is_ascii_digit()) {
                    let end = l[start..]
                        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                        .map_or(l.len(), |e| start + e);
                    lines[at] = format!("{}{}{}", &l[..start], number, &l[end..]);
                }
            }
            1 => {
                lines.remove(at);
            }
            2 => {
                let copy = lines[at].clone();
                lines.insert(at, copy);
            }
            _ => {
                let mut bytes = std::mem::take(&mut lines[at]).into_bytes();
                if !bytes.is_empty() {
                    let i = flip.0.index(bytes.len());
                    bytes[i] ^= flip.1;
                }
                lines[at] = String::from_utf8_lossy(&bytes).into_owned();
            }
        }
        let mutated = lines.join("\n");
        match TariffPlan::from_toml(&mutated, &file) {
            Err(err) => prop_assert!(!err.to_string().is_empty()),
            Ok(parsed) => {
                if parsed.versions.iter().all(|v| v.tou.is_some() && v.prices.is_complete()) {
                    let intervals = intervals(&raw);
                    if let Ok(bill) = Pricer::new(parsed, ZONE)
                        .price(two_months(), &AccountTerms::default(), Decimal::ZERO, &intervals)
                    {
                        for line in &bill.lines {
                            prop_assert_eq!(line.amount, line.kwh * line.price);
                        }
                    }
                }
            }
        }
    }
}
