//! Reading the timestamps of badges made by any issuer.
//!
//! Accepted: `YYYY-MM-DDTHH:MM[:SS[.fraction]]` (a space or `t` may replace the `T`) with a
//! zone of `Z`, `±hh:mm`, `±hhmm` or `±hh`, where the sign may also be U+2212 (−). An
//! impossible date or time (`2024-02-30`, `25:00`) is invalid. Open Badges 2.0 also allows,
//! each with a warning, a date-time without a zone (read as UTC), a date alone (read as
//! midnight UTC) and a Unix time number (the 1.0 form). Fractions of a second are dropped.

use serde_json::Value;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

use crate::domain::Timestamp;

/// A timestamp that was read, and how far it strays from RFC 3339.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Leniency {
    /// RFC 3339 with a zone (including the `±hhmm`, `±hh` and U+2212 forms).
    Exact,
    /// No zone: read as UTC.
    NoZone,
    /// A date without a time: midnight UTC.
    DateOnly,
    /// A JSON number of Unix seconds.
    EpochNumber,
}

/// Reads a timestamp from a JSON value. Numbers are accepted as Unix seconds; callers reject
/// the lenient forms where a specification forbids them.
pub(crate) fn parse_value(value: &Value) -> Result<(Timestamp, Leniency), String> {
    match value {
        Value::String(text) => parse(text),
        Value::Number(number) => match number.as_i64() {
            Some(seconds) if OffsetDateTime::from_unix_timestamp(seconds).is_ok() => {
                Ok((Timestamp::from_unix_seconds(seconds), Leniency::EpochNumber))
            }
            _ => Err(format!("{number} is not a Unix time in whole seconds")),
        },
        other => Err(format!(
            "it is {}, not a date-time string",
            super::fields::kind_of(other)
        )),
    }
}

/// Reads a date-time string.
pub(crate) fn parse(text: &str) -> Result<(Timestamp, Leniency), String> {
    let normalised = text.trim().replace('\u{2212}', "-");
    let invalid = |reason: &str| {
        format!(
            "{} is not a date-time such as 2024-11-08T10:33:30Z: {reason}",
            super::fields::quote(text)
        )
    };
    // Every slice below is at a byte offset, which is a character boundary only in ASCII.
    if !normalised.is_ascii() {
        return Err(invalid("it contains a character that is not ASCII"));
    }
    let bytes = normalised.as_bytes();
    if bytes.len() < 10 {
        return Err(invalid("it is too short"));
    }

    let date = parse_date(&normalised[..10]).map_err(|reason| invalid(&reason))?;
    if bytes.len() == 10 {
        let at = PrimitiveDateTime::new(date, Time::MIDNIGHT).assume_utc();
        return Ok((Timestamp::from_datetime(at), Leniency::DateOnly));
    }
    if !matches!(bytes[10], b'T' | b't' | b' ') {
        return Err(invalid("the date must be followed by T and a time"));
    }

    let rest = &normalised[11..];
    let zone_start = rest.find(['Z', 'z', '+', '-']).unwrap_or(rest.len());
    let time = parse_time(&rest[..zone_start]).map_err(|reason| invalid(&reason))?;
    let local = PrimitiveDateTime::new(date, time);

    let zone = &rest[zone_start..];
    if zone.is_empty() {
        return Ok((
            Timestamp::from_datetime(local.assume_utc()),
            Leniency::NoZone,
        ));
    }
    let offset = parse_offset(zone).map_err(|reason| invalid(&reason))?;
    Ok((
        Timestamp::from_datetime(local.assume_offset(offset)),
        Leniency::Exact,
    ))
}

fn number(digits: &str, what: &str) -> Result<u32, String> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("the {what} {digits:?} is not a number"));
    }
    digits
        .parse()
        .map_err(|_| format!("the {what} {digits:?} is too large"))
}

fn parse_date(text: &str) -> Result<Date, String> {
    let parts: Vec<&str> = text.split('-').collect();
    let [year, month, day] = parts.as_slice() else {
        return Err("the date is not YYYY-MM-DD".to_owned());
    };
    if year.len() != 4 || month.len() != 2 || day.len() != 2 {
        return Err("the date is not YYYY-MM-DD".to_owned());
    }
    let year = number(year, "year")?;
    let month = u8::try_from(number(month, "month")?)
        .ok()
        .and_then(|month| Month::try_from(month).ok())
        .ok_or_else(|| "the month is not 01 to 12".to_owned())?;
    let day = u8::try_from(number(day, "day")?).map_err(|_| "the day is invalid".to_owned())?;
    let year = i32::try_from(year).map_err(|_| "the year is invalid".to_owned())?;
    Date::from_calendar_date(year, month, day)
        .map_err(|_| format!("{text} is not a date that exists"))
}

fn parse_time(text: &str) -> Result<Time, String> {
    let (clock, fraction) = match text.split_once(['.', ',']) {
        Some((clock, fraction)) => (clock, Some(fraction)),
        None => (text, None),
    };
    // The fraction is dropped, but it must be digits.
    if let Some(fraction) = fraction
        && (fraction.is_empty() || !fraction.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(format!(
            "the fraction of a second {fraction:?} is not digits"
        ));
    }
    let parts: Vec<&str> = clock.split(':').collect();
    let (hour, minute, second) = match parts.as_slice() {
        [hour, minute] => (*hour, *minute, "00"),
        [hour, minute, second] => (*hour, *minute, *second),
        _ => return Err("the time is not HH:MM:SS".to_owned()),
    };
    if hour.len() != 2 || minute.len() != 2 || second.len() != 2 {
        return Err("the time is not HH:MM:SS".to_owned());
    }
    let hour = u8::try_from(number(hour, "hour")?).unwrap_or(u8::MAX);
    let minute = u8::try_from(number(minute, "minute")?).unwrap_or(u8::MAX);
    let second = u8::try_from(number(second, "second")?).unwrap_or(u8::MAX);
    Time::from_hms(hour, minute, second).map_err(|_| {
        format!("{clock} is not a time that exists (hours 00-23, minutes and seconds 00-59)")
    })
}

fn parse_offset(zone: &str) -> Result<UtcOffset, String> {
    if zone.eq_ignore_ascii_case("z") {
        return Ok(UtcOffset::UTC);
    }
    let (sign, digits) = match zone.as_bytes().first() {
        Some(b'+') => (1, &zone[1..]),
        Some(b'-') => (-1, &zone[1..]),
        _ => return Err(format!("the zone {zone:?} is not Z or ±hh:mm")),
    };
    let (hours, minutes) = match digits.len() {
        2 => (digits, "00"),
        4 => (&digits[..2], &digits[2..]),
        5 if digits.as_bytes()[2] == b':' => (&digits[..2], &digits[3..]),
        _ => return Err(format!("the zone {zone:?} is not Z, ±hh:mm, ±hhmm or ±hh")),
    };
    let hours = number(hours, "zone hour")?;
    let minutes = number(minutes, "zone minute")?;
    if hours > 23 || minutes > 59 {
        return Err(format!("the zone {zone:?} is out of range"));
    }
    let hours = i8::try_from(hours).unwrap_or(0) * sign;
    let minutes = i8::try_from(minutes).unwrap_or(0) * sign;
    UtcOffset::from_hms(hours, minutes, 0).map_err(|_| format!("the zone {zone:?} is out of range"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const AT: i64 = 1_731_062_010; // 2024-11-08T10:33:30Z

    fn seconds(text: &str) -> (i64, Leniency) {
        let (at, leniency) = parse(text).unwrap_or_else(|error| panic!("{text}: {error}"));
        (at.unix_seconds(), leniency)
    }

    #[test]
    fn zone_forms() {
        assert_eq!(seconds("2024-11-08T10:33:30Z"), (AT, Leniency::Exact));
        assert_eq!(seconds("2024-11-08t10:33:30z"), (AT, Leniency::Exact));
        assert_eq!(seconds("2024-11-08T16:03:30+05:30"), (AT, Leniency::Exact));
        assert_eq!(seconds("2024-11-08T16:03:30+0530"), (AT, Leniency::Exact));
        assert_eq!(seconds("2024-11-08T15:33:30+05"), (AT, Leniency::Exact));
        assert_eq!(
            seconds("2024-11-08T05:33:30\u{2212}05:00"),
            (AT, Leniency::Exact)
        );
        assert_eq!(seconds("2024-11-08T05:33:30-05:00"), (AT, Leniency::Exact));
        assert_eq!(
            seconds("2024-11-08T10:33:30.649696Z"),
            (AT, Leniency::Exact)
        );
        assert_eq!(seconds("2024-11-08T10:33Z"), (AT - 30, Leniency::Exact));
    }

    #[test]
    fn lenient_forms() {
        assert_eq!(
            seconds("2024-11-08T10:33:30.649696"),
            (AT, Leniency::NoZone)
        );
        assert_eq!(seconds("2024-11-08"), (AT - 38_010, Leniency::DateOnly));
        let (at, leniency) = parse_value(&json!(1_731_062_010)).unwrap();
        assert_eq!((at.unix_seconds(), leniency), (AT, Leniency::EpochNumber));
    }

    #[test]
    fn impossible_values_are_invalid() {
        for text in [
            "2024-02-30T00:00:00Z",
            "2023-02-29",
            "2024-13-01T00:00:00Z",
            "2024-11-08T24:00:00Z",
            "2024-11-08T10:60:00Z",
            "2024-11-08T10:33:30+25:00",
            "2024-11-08T10:33:30 UTC",
            "08/11/2024",
            "",
            "2024-11-08X10:33:30Z",
            "2024-11-0\u{e9}T10:33:30Z",
            "2024-11-08T10:33:30+a\u{e9}1",
        ] {
            assert!(parse(text).is_err(), "{text:?} should be invalid");
        }
        assert!(parse_value(&json!(true)).is_err());
        assert!(parse_value(&json!(i64::MAX)).is_err());
        assert!(parse_value(&json!(1.5)).is_err());
        assert!(
            parse("2024-02-30T00:00:00Z")
                .unwrap_err()
                .contains("not a date that exists")
        );
    }
}
