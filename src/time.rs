//! Timestamps in files: jiff timestamps, written as RFC 3339 in UTC with milliseconds
//! ("2026-11-25T17:34:53.123Z") and read from any RFC 3339 text.

use jiff::Timestamp;
use serde::{Deserialize, Deserializer, Serializer};

/// A timestamp as RFC 3339 in UTC with millisecond precision.
pub fn format(ts: Timestamp) -> String {
    format!("{ts:.3}")
}

/// Serde for a required timestamp field (`#[serde(with = "crate::time::ms")]`).
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
