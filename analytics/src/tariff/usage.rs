//! Usage files for `meterlake tariff quote`: CSV `timestamp,kwh`, priced with a plan so customer
//! service can explain a bill line by line.
//!
//! Format: one interval per line, `timestamp,kwh`. The timestamp is RFC 3339
//! (`2026-10-01T08:00:00+08:00`) or local wall-clock time `YYYY-MM-DD HH:MM` in the caller's zone;
//! `kwh` is a decimal with at most 6 places. An optional header line starting with `timestamp`,
//! blank lines and lines starting with `#` are skipped. Rows may come in any order; they are sorted
//! by time and a repeated timestamp is an error.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;

use super::bill::{AccountTerms, BillingPeriod, Interval, TariffBill};
use super::engine::{Pricer, PricingError};
use super::exact::kwh_to_e6;

/// A usage file that cannot be read or priced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsageError {
    /// A row is malformed.
    #[error("{file}:{line}: {reason}")]
    Row {
        /// The usage file.
        file: String,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// The file has no intervals.
    #[error("{file}: no intervals")]
    Empty {
        /// The usage file.
        file: String,
    },
    /// Pricing failed.
    #[error(transparent)]
    Pricing(#[from] PricingError),
}

fn parse_timestamp(text: &str, zone: Tz) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    let local = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M"))
        .map_err(|_| {
            format!("timestamp {text:?} is neither RFC 3339 nor local YYYY-MM-DD HH:MM")
        })?;
    match zone.from_local_datetime(&local) {
        chrono::LocalResult::Single(t) => Ok(t.with_timezone(&Utc)),
        chrono::LocalResult::Ambiguous(_, _) => Err(format!(
            "local time {text} is ambiguous in {zone}; give an RFC 3339 timestamp with offset"
        )),
        chrono::LocalResult::None => Err(format!("local time {text} does not exist in {zone}")),
    }
}

/// Parses a usage file; `file` names it in errors. Returns intervals sorted by start.
pub fn parse_usage(text: &str, file: &str, zone: Tz) -> Result<Vec<Interval>, UsageError> {
    let row_error = |line: usize, reason: String| UsageError::Row {
        file: file.to_string(),
        line,
        reason,
    };
    let mut rows: Vec<(Interval, usize)> = Vec::new();
    let mut seen_data = false;
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let row = raw.trim();
        if row.is_empty() || row.starts_with('#') {
            continue;
        }
        if !seen_data && row.to_ascii_lowercase().starts_with("timestamp") {
            seen_data = true;
            continue;
        }
        seen_data = true;
        let fields: Vec<&str> = row.split(',').map(str::trim).collect();
        let [timestamp, kwh] = fields.as_slice() else {
            return Err(row_error(
                line,
                format!("expected 2 fields `timestamp,kwh`, found {}", fields.len()),
            ));
        };
        let start = parse_timestamp(timestamp, zone).map_err(|r| row_error(line, r))?;
        let kwh: Decimal = kwh
            .parse()
            .map_err(|_| row_error(line, format!("kWh {kwh:?} is not a decimal number")))?;
        kwh_to_e6(kwh).map_err(|e| row_error(line, e.to_string()))?;
        rows.push((Interval { start, kwh }, line));
    }
    rows.sort_by_key(|(interval, _)| interval.start);
    for pair in rows.windows(2) {
        if pair[0].0.start == pair[1].0.start {
            let (first, second) = (pair[0].1.min(pair[1].1), pair[0].1.max(pair[1].1));
            return Err(row_error(
                second,
                format!(
                    "timestamp {} repeats line {first}",
                    pair[1].0.start.with_timezone(&zone)
                ),
            ));
        }
    }
    Ok(rows.into_iter().map(|(interval, _)| interval).collect())
}

/// The period a usage file covers: from its first start to its last start plus one interval
/// length (15 minutes, or the smallest gap between starts when that is shorter).
pub fn usage_period(intervals: &[Interval]) -> Option<BillingPeriod> {
    let first = intervals.first()?.start;
    let last = intervals.last()?.start;
    let step = intervals
        .windows(2)
        .map(|w| w[1].start - w[0].start)
        .filter(|d| *d > chrono::Duration::zero())
        .min()
        .unwrap_or(chrono::Duration::minutes(15))
        .min(chrono::Duration::minutes(15));
    Some(BillingPeriod {
        start: first,
        end: last + step,
    })
}

/// Prices a usage file: what `meterlake tariff quote --plan P --usage FILE [--ladder-start KWH]`
/// prints. The period is [`usage_period`] unless given.
pub fn quote(
    pricer: &Pricer,
    text: &str,
    file: &str,
    ladder_start_kwh: Decimal,
    terms: &AccountTerms,
    period: Option<BillingPeriod>,
) -> Result<TariffBill, UsageError> {
    let intervals = parse_usage(text, file, pricer.zone())?;
    let period = match period {
        Some(p) => p,
        None => usage_period(&intervals).ok_or_else(|| UsageError::Empty {
            file: file.to_string(),
        })?,
    };
    Ok(pricer.price(period, terms, ladder_start_kwh, &intervals)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    const ZONE: Tz = chrono_tz::Asia::Shanghai;

    #[test]
    fn parses_both_timestamp_forms_and_sorts() {
        let text = "timestamp,kwh\n2026-10-01 08:15,0.25\n# note\n\n2026-10-01T00:00:00Z,1.5\n";
        let rows = parse_usage(text, "u.csv", ZONE).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].start.to_rfc3339(), "2026-10-01T00:00:00+00:00");
        assert_eq!(rows[0].kwh, dec!(1.5));
        assert_eq!(rows[1].start.to_rfc3339(), "2026-10-01T00:15:00+00:00");
    }

    #[test]
    fn bad_rows_name_their_line() {
        let err = parse_usage(
            "timestamp,kwh\n2026-10-01 08:15,0.25\n2026-13-01 08:30,1\n",
            "u.csv",
            ZONE,
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("u.csv:3: timestamp"), "{err}");
        let err = parse_usage("2026-10-01 08:15,abc\n", "u.csv", ZONE)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("u.csv:1: kWh"), "{err}");
        let err = parse_usage("2026-10-01 08:15,1,2\n", "u.csv", ZONE)
            .unwrap_err()
            .to_string();
        assert!(err.contains("expected 2 fields"), "{err}");
        let err = parse_usage("2026-10-01 08:15,0.0000001\n", "u.csv", ZONE)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("u.csv:1") && err.contains("6 decimal"),
            "{err}"
        );
        let err = parse_usage(
            "2026-10-01 08:15,1\n2026-10-01T00:15:00Z,1\n",
            "u.csv",
            ZONE,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("u.csv:2: timestamp") && err.contains("repeats line 1"),
            "{err}"
        );
    }
}
