//! The maintenance staff's alarm e-mails, gathered: alarms raised within one window wait for the
//! window's end and go out as one message listing them all, so a storm (a feeder fault sets off
//! hundreds of meters' rules at once) is one e-mail in the staff's inbox, not hundreds.

use chrono::{DateTime, Duration, Utc};

use super::notice::{Language, Wording};

/// When a staff alarm raised at `now` is sent: the end of the `window` it falls in (windows are
/// aligned to the epoch, so every alarm of one window shares that instant); `now` itself when the
/// window is zero (each alarm its own e-mail, at once).
pub fn send_at(now: DateTime<Utc>, window: Duration) -> DateTime<Utc> {
    let width = window.num_microseconds().unwrap_or(0);
    if width <= 0 {
        return now;
    }
    let at = now.timestamp_micros();
    let into = at.rem_euclid(width);
    if into == 0 {
        return now;
    }
    at.checked_add(width - into)
        .and_then(DateTime::from_timestamp_micros)
        .unwrap_or(now)
}

/// One e-mail about `alarms` (each alarm's own words, in the order they were raised), in `lang`.
pub fn digest(alarms: &[Wording], lang: Language) -> Wording {
    let n = alarms.len();
    let list = alarms
        .iter()
        .enumerate()
        .map(|(i, w)| format!("{}. {}\n   {}", i + 1, w.subject, w.text))
        .collect::<Vec<_>>()
        .join("\n");
    match lang {
        Language::Zh => Wording {
            subject: format!("告警汇总：{n} 条新告警"),
            text: format!("以下 {n} 条告警等待处理，详情见运维页面的告警列表：\n\n{list}\n"),
        },
        Language::En => Wording {
            subject: format!("{n} new alarms"),
            text: format!(
                "{n} alarms wait to be handled (details on the alarms page):\n\n{list}\n"
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn alarms_of_one_window_share_its_end() {
        let minute = Duration::seconds(60);
        let end = at("2026-09-30T02:01:00Z");
        for raised in [
            "2026-09-30T02:00:00.001Z",
            "2026-09-30T02:00:31Z",
            "2026-09-30T02:00:59.999999Z",
        ] {
            assert_eq!(send_at(at(raised), minute), end, "{raised}");
        }
        assert_eq!(send_at(end, minute), end, "raised on the boundary: at once");
        assert_eq!(
            send_at(at("2026-09-30T02:01:00.5Z"), minute),
            at("2026-09-30T02:02:00Z")
        );
        let now = at("2026-09-30T02:00:17Z");
        assert_eq!(send_at(now, Duration::zero()), now, "no window: at once");
        assert_eq!(send_at(now, Duration::seconds(-5)), now);
        assert_eq!(
            send_at(DateTime::<Utc>::MAX_UTC, minute),
            DateTime::<Utc>::MAX_UTC
        );
    }

    #[test]
    fn a_digest_lists_every_alarm_with_its_words() {
        let words = |meter: &str| Wording {
            subject: "告警：开表盖".into(),
            text: format!("电表 {meter}：开表盖。"),
        };
        let alarms = [
            words("000000000101"),
            words("000000000102"),
            words("000000000103"),
        ];
        let zh = digest(&alarms, Language::Zh);
        assert_eq!(zh.subject, "告警汇总：3 条新告警");
        assert!(
            zh.text
                .contains("1. 告警：开表盖\n   电表 000000000101：开表盖。"),
            "{}",
            zh.text
        );
        assert!(
            zh.text.contains("3. 告警：开表盖\n   电表 000000000103"),
            "{}",
            zh.text
        );
        let en = digest(&alarms[..2], Language::En);
        assert_eq!(en.subject, "2 new alarms");
        assert!(en.text.contains("2. "), "{}", en.text);
    }
}
