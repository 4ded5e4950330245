//! `[stream.overlay]`: text drawn into the picture before it is encoded (the time, a label) —
//! for the streams that encode raw frames (camera, test pattern).

use serde::{Deserialize, Deserializer, Serialize};

/// Where the text sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OverlayPosition {
    #[default]
    TopLeft,
    TopRight,
    BottomLeft,
    BottomRight,
}

/// `[stream.overlay]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct OverlayConfig {
    /// The text, with strftime-style fields for the capture time (`%Y-%m-%d %H:%M:%S`, `%a`,
    /// …; `%%` for a percent sign). Empty: no overlay.
    #[serde(deserialize_with = "de_text")]
    pub text: String,
    pub position: OverlayPosition,
    /// Size of one font pixel in picture pixels (1-16; 0 = about 1/40 of the picture height).
    #[serde(deserialize_with = "de_scale")]
    pub scale: u32,
    /// A dark box behind the text, so it reads on any picture.
    pub background: bool,
    /// Times in UTC (otherwise the machine's local time zone).
    pub utc: bool,
}

impl Default for OverlayConfig {
    fn default() -> Self {
        Self {
            text: String::new(),
            position: OverlayPosition::TopLeft,
            scale: 0,
            background: true,
            utc: false,
        }
    }
}

impl OverlayConfig {
    pub fn is_enabled(&self) -> bool {
        !self.text.is_empty()
    }
}

/// Longest overlay text (characters before time fields are filled in).
pub const MAX_OVERLAY_CHARS: usize = 200;

fn de_text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let text = String::deserialize(d)?;
    if text.chars().count() > MAX_OVERLAY_CHARS {
        return Err(serde::de::Error::custom(format!(
            "overlay text is longer than {MAX_OVERLAY_CHARS} characters"
        )));
    }
    if let Some(bad) = text.chars().find(|c| !c.is_ascii() || c.is_ascii_control()) {
        return Err(serde::de::Error::custom(format!(
            "overlay text may hold printable ASCII only (the font has no {bad:?})"
        )));
    }
    let items = chrono::format::StrftimeItems::new(&text);
    if items
        .into_iter()
        .any(|i| matches!(i, chrono::format::Item::Error))
    {
        return Err(serde::de::Error::custom(
            "overlay text has an unknown %-field (use strftime fields such as %Y-%m-%d %H:%M:%S, or %% for %)",
        ));
    }
    Ok(text)
}

fn de_scale<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let n = i64::deserialize(d)?;
    if (0..=16).contains(&n) {
        Ok(n as u32)
    } else {
        Err(serde::de::Error::custom(format!(
            "scale {n} is outside 0..=16 (0 = automatic)"
        )))
    }
}
