//! Sizes and dates as people of the page's language write them ("1,4 MB", "03.12.2026, 14:05"
//! in German; "1.4 MB", "2026-12-03 14:05" in English). Times are shown in UTC, marked so.

use crate::i18n::Lang;

/// Human-readable size with decimal units.
pub(crate) fn size(lang: Lang, bytes: i64) -> String {
    let units = ["B", "KB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < units.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    let text = if unit == 0 { format!("{bytes}") } else { format!("{value:.1}") };
    let text = if lang == Lang::De { text.replace('.', ",") } else { text };
    format!("{text} {}", units[unit])
}

/// `(year, month, day, hour, minute)` in UTC of Unix seconds.
fn civil(seconds: i64) -> (i64, i64, i64, i64, i64) {
    // Days to civil date (Howard Hinnant's algorithm; no date crate is needed for this).
    let days = seconds.div_euclid(86_400);
    let secs_of_day = seconds.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day, secs_of_day / 3600, secs_of_day % 3600 / 60)
}

pub(crate) fn datetime(lang: Lang, seconds: i64) -> String {
    let (year, month, day, hour, minute) = civil(seconds);
    match lang {
        Lang::De => format!("{day:02}.{month:02}.{year}, {hour:02}:{minute:02} UTC"),
        Lang::En => format!("{year}-{month:02}-{day:02} {hour:02}:{minute:02} UTC"),
    }
}

/// The `datetime` attribute of a `<time>` element.
pub(crate) fn iso_datetime(seconds: i64) -> String {
    let (year, month, day, hour, minute) = civil(seconds);
    format!("{year}-{month:02}-{day:02}T{hour:02}:{minute:02}Z")
}

/// A `YYYY-MM-DD` date (an `<input type=date>` value) as Unix seconds at the end of that day.
pub(crate) fn date_input_end_of_day(text: &str) -> Option<i64> {
    let mut parts = text.trim().split('-');
    let year: i64 = parts.next()?.parse().ok()?;
    let month: i64 = parts.next()?.parse().ok()?;
    let day: i64 = parts.next()?.parse().ok()?;
    if parts.next().is_some() || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    // Inverse of `civil` (days from civil).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + 86_399)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_dates_follow_the_language() {
        assert_eq!(size(Lang::De, 1_400_000), "1,4 MB");
        assert_eq!(size(Lang::En, 1_400_000), "1.4 MB");
        assert_eq!(size(Lang::De, 999), "999 B");
        assert_eq!(datetime(Lang::De, 1_796_306_700), "03.12.2026, 14:05 UTC");
        assert_eq!(datetime(Lang::En, 1_796_306_700), "2026-12-03 14:05 UTC");
        assert_eq!(iso_datetime(0), "1970-01-01T00:00Z");
        assert_eq!(date_input_end_of_day("2026-12-03"), Some(1_796_342_399));
        assert_eq!(date_input_end_of_day("1970-01-01"), Some(86_399));
        assert_eq!(date_input_end_of_day("2026-13-01"), None);
        assert_eq!(date_input_end_of_day("morgen"), None);
    }
}
