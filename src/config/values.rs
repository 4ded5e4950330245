//! Config values that are checked while they are parsed, so an error names their key and line:
//! stream ids and JPEG quality.

use serde::Deserialize;

/// A stream id: 1–32 of `[A-Za-z0-9_-]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StreamId(pub String);

impl<'de> Deserialize<'de> for StreamId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let ok = (1..=32).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if ok {
            Ok(StreamId(s))
        } else {
            Err(serde::de::Error::custom(format!(
                "invalid stream id {s:?}: use 1-32 letters, digits, '-' or '_'"
            )))
        }
    }
}

impl std::fmt::Display for StreamId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// JPEG quality 1..=100.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quality(pub u8);

impl<'de> Deserialize<'de> for Quality {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let q = i64::deserialize(d)?;
        if (1..=100).contains(&q) {
            Ok(Quality(q as u8))
        } else {
            Err(serde::de::Error::custom(format!(
                "quality {q} is outside 1..=100"
            )))
        }
    }
}
