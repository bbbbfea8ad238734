//! Wall-clock time as UTC text, for the embedded store and the logs.
#![forbid(unsafe_code)]

use std::fmt::{self, Write};

/// Writes `unix_us` (microseconds since the Unix epoch) as
/// `YYYY-MM-DD HH:MM:SS` in UTC and returns the microseconds within
/// that second, for the caller's fraction.
///
/// # Errors
///
/// Only those of `out`.
pub fn write_utc(out: &mut impl Write, unix_us: i64) -> Result<i64, fmt::Error> {
    let secs = unix_us.div_euclid(1_000_000);
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    write!(
        out,
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    )?;
    Ok(unix_us.rem_euclid(1_000_000))
}

/// Days since 1970-01-01 to (year, month, day): H. Hinnant's
/// `civil_from_days`.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_text_and_fraction() {
        let mut s = String::new();
        assert_eq!(write_utc(&mut s, 0), Ok(0));
        assert_eq!(s, "1970-01-01 00:00:00");
        s.clear();
        // 2024-02-29 12:34:56.789 UTC
        assert_eq!(write_utc(&mut s, 1_709_210_096_789_000), Ok(789_000));
        assert_eq!(s, "2024-02-29 12:34:56");
        s.clear();
        assert_eq!(write_utc(&mut s, -1), Ok(999_999));
        assert_eq!(s, "1969-12-31 23:59:59");
    }
}
