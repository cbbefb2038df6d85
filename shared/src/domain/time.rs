use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

/// A time that [`Timestamp::parse_rfc3339`] rejects.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidTimestamp {
    /// Not RFC 3339, or an impossible date or time.
    #[error(transparent)]
    Syntax(#[from] time::error::Parse),
    /// A valid RFC 3339 time whose UTC form is before year 0000 or after year 9999.
    #[error("the time falls outside the years 0000 to 9999 once converted to UTC")]
    OutsideRfc3339Years,
}

/// A point in time in whole seconds, always written in UTC as `2024-11-08T10:33:30Z`.
///
/// Open Badges documents are frozen when they are minted, so every fetch is byte-identical,
/// and VC-JWT `nbf` must equal `validFrom` exactly: both need one fixed, second-precision form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp(i64);

impl Timestamp {
    pub fn from_unix_seconds(seconds: i64) -> Self {
        Self(seconds)
    }

    pub fn unix_seconds(&self) -> i64 {
        self.0
    }

    /// Truncates a date-time to whole seconds.
    pub fn from_datetime(value: OffsetDateTime) -> Self {
        Self(value.unix_timestamp())
    }

    pub fn to_datetime(self) -> OffsetDateTime {
        // The range check cannot fail for values made by this type: they come from
        // `OffsetDateTime` or from our own stored records.
        OffsetDateTime::from_unix_timestamp(self.0).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    pub fn plus_seconds(self, seconds: i64) -> Self {
        Self(self.0.saturating_add(seconds))
    }

    pub fn plus_days(self, days: i64) -> Self {
        self.plus_seconds(days.saturating_mul(Duration::DAY.whole_seconds()))
    }

    /// Parses RFC 3339 with any offset and converts to UTC, dropping fractions of a second.
    ///
    /// Rejects a time whose UTC form falls outside the years 0000 to 9999, such as
    /// `9999-12-31T23:59:59-23:59`, because RFC 3339 cannot write it and [`Self::to_rfc3339`]
    /// would write another time in its place.
    pub fn parse_rfc3339(value: &str) -> Result<Self, InvalidTimestamp> {
        let parsed = Self::from_datetime(OffsetDateTime::parse(value, &Rfc3339)?);
        if !(Self::FIRST_RFC3339_SECOND..=Self::LAST_RFC3339_SECOND).contains(&parsed.0) {
            return Err(InvalidTimestamp::OutsideRfc3339Years);
        }
        Ok(parsed)
    }

    /// 0000-01-01T00:00:00Z in Unix seconds.
    const FIRST_RFC3339_SECOND: i64 = -62_167_219_200;
    /// 9999-12-31T23:59:59Z in Unix seconds.
    const LAST_RFC3339_SECOND: i64 = 253_402_300_799;

    /// The RFC 3339 form in UTC with a `Z` designator and no fraction.
    pub fn to_rfc3339(self) -> String {
        let value = self.to_datetime();
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            value.year(),
            u8::from(value.month()),
            value.day(),
            value.hour(),
            value.minute(),
            value.second()
        )
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = String::deserialize(deserializer)?;
        Self::parse_rfc3339(&value).map_err(|error| {
            serde::de::Error::custom(format!(
                "{value:?} is not an RFC 3339 date-time such as 2024-11-08T10:33:30Z: {error}"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_writes_utc_whole_seconds() {
        let parsed = Timestamp::parse_rfc3339("2024-11-08T16:03:30.649+05:30").unwrap();
        assert_eq!(parsed.to_rfc3339(), "2024-11-08T10:33:30Z");
        assert_eq!(parsed.unix_seconds(), 1_731_062_010);
    }

    #[test]
    fn timestamp_rejects_impossible_date() {
        assert!(Timestamp::parse_rfc3339("2024-02-30T00:00:00Z").is_err());
    }
}
