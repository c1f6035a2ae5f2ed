//! Timestamps in files: jiff timestamps, written as RFC 3339 in UTC with milliseconds
//! ("2026-11-25T17:34:53.123Z") and read from any RFC 3339 text.

use jiff::Timestamp;
use serde::{Deserialize, Deserializer, Serializer};

/// A timestamp as RFC 3339 in UTC with millisecond precision.
pub fn format(ts: Timestamp) -> String {
    format!("{ts:.3}")
}

/// Serde for a required timestamp field (`#[serde(with = "crate::base::time::ms")]`).
pub mod ms {
    use super::*;

    /// Writes the timestamp with milliseconds.
    pub fn serialize<S: Serializer>(ts: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format(*ts))
    }

    /// Reads any RFC 3339 timestamp.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Serde for an optional timestamp field; an empty string reads as none.
pub mod ms_opt {
    use super::*;

    /// Writes the timestamp with milliseconds (callers skip `None`).
    pub fn serialize<S: Serializer>(ts: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
        match ts {
            Some(ts) => s.serialize_str(&super::format(*ts)),
            None => s.serialize_none(),
        }
    }

    /// Reads any RFC 3339 timestamp, or none from null or an empty string.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
        let text = <Option<std::borrow::Cow<'de, str>>>::deserialize(d)?;
        match text.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(t) => t.parse().map(Some).map_err(serde::de::Error::custom),
        }
    }
}

/// The longest duration coord accepts anywhere (100 years): every clock coord adds it to, and
/// every time it subtracts it from, stays in range.
pub const MAX_DURATION: std::time::Duration = std::time::Duration::from_secs(100 * 365 * 86_400);

/// Why a duration given by a person was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// The text is not a number with a unit.
    #[error("{0:?} is not a duration such as 90s, 30m, 12h, 7d or 2w")]
    NotADuration(String),
    /// The unit is none of s, m, h, d, w.
    #[error("unknown unit {0:?}: use s, m, h, d or w")]
    UnknownUnit(String),
    /// The duration is longer than [`MAX_DURATION`].
    #[error("{0:?} is longer than coord's limit of 100 years (5200w)")]
    TooLong(String),
}

/// Reads a duration like `90s`, `30m`, `12h`, `7d` or `2w` (a bare number is seconds), at most
/// [`MAX_DURATION`]; never panics, whatever the text.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, DurationError> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: f64 = number
        .parse()
        .map_err(|_| DurationError::NotADuration(text.to_string()))?;
    let unit_secs = match unit.trim() {
        "s" | "" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        "d" => 86_400.0,
        "w" => 604_800.0,
        other => return Err(DurationError::UnknownUnit(other.to_string())),
    };
    let secs = n * unit_secs;
    if !secs.is_finite() || secs > MAX_DURATION.as_secs_f64() {
        return Err(DurationError::TooLong(text.to_string()));
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}

/// Reads a whole number of seconds, at most [`MAX_DURATION`].
pub fn parse_secs(text: &str) -> Result<u64, DurationError> {
    let secs: u64 = text
        .trim()
        .parse()
        .map_err(|_| DurationError::NotADuration(text.to_string()))?;
    match secs > MAX_DURATION.as_secs() {
        true => Err(DurationError::TooLong(text.to_string())),
        false => Ok(secs),
    }
}
