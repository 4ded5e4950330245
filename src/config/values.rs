//! Config values that are checked while they are parsed, so an error names their key and line:
//! listen addresses, stream ids, JPEG quality, pixel formats and chroma subsampling. The ones the
//! camera helper receives in its Start settings also serialize, to what they parse from.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

/// `listen`: one address (`"0.0.0.0:8080"`) or a non-empty list of distinct ones
/// (`["0.0.0.0:8080", "[::]:8080"]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenAddrs(pub Vec<SocketAddr>);

impl ListenAddrs {
    /// The first address (the one start-up messages name).
    pub fn first(&self) -> SocketAddr {
        self.0[0]
    }

    pub fn port(&self) -> u16 {
        self.first().port()
    }
}

impl std::fmt::Display for ListenAddrs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, a) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{a}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for ListenAddrs {
    type Err = std::net::AddrParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(ListenAddrs(vec![s.parse()?]))
    }
}

impl From<SocketAddr> for ListenAddrs {
    fn from(addr: SocketAddr) -> Self {
        ListenAddrs(vec![addr])
    }
}

impl<'de> Deserialize<'de> for ListenAddrs {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(
            untagged,
            expecting = "an address like \"0.0.0.0:8080\" or a list of them"
        )]
        enum OneOrMany {
            One(SocketAddr),
            Many(Vec<SocketAddr>),
        }
        let addrs = match OneOrMany::deserialize(d)? {
            OneOrMany::One(a) => vec![a],
            OneOrMany::Many(list) => list,
        };
        if addrs.is_empty() {
            return Err(serde::de::Error::custom(
                "an empty list listens nowhere: give at least one address",
            ));
        }
        if let Some((i, a)) = (addrs.iter().enumerate()).find(|(i, a)| addrs[..*i].contains(a)) {
            return Err(serde::de::Error::custom(format!(
                "{a} is listed twice (entries {} and {i})",
                addrs.iter().position(|b| b == a).unwrap_or(0)
            )));
        }
        Ok(ListenAddrs(addrs))
    }
}

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

impl Serialize for Quality {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(self.0)
    }
}

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

/// Pixel layouts a source can hand to the encoder. Names follow libcamera's formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PixelFormat {
    /// 3 bytes per pixel, R G B in memory order.
    Rgb888,
    /// 3 bytes per pixel, B G R in memory order.
    Bgr888,
    /// Planar 4:2:0: Y, then U (Cb), then V (Cr), chroma planes half size in both directions.
    Yuv420,
    /// Semi-planar 4:2:0: Y plane, then one plane of interleaved U/V pairs.
    Nv12,
}

impl PixelFormat {
    pub const ALL: [PixelFormat; 4] = [Self::Rgb888, Self::Bgr888, Self::Yuv420, Self::Nv12];

    pub fn name(self) -> &'static str {
        match self {
            Self::Rgb888 => "rgb888",
            Self::Bgr888 => "bgr888",
            Self::Yuv420 => "yuv420",
            Self::Nv12 => "nv12",
        }
    }

    /// Number of planes a frame of this format carries.
    pub fn planes(self) -> usize {
        match self {
            Self::Rgb888 | Self::Bgr888 => 1,
            Self::Yuv420 => 3,
            Self::Nv12 => 2,
        }
    }

    /// The tightest row stride (bytes) of each plane for a `width`-pixel-wide image.
    pub fn min_strides(self, width: usize) -> [usize; 3] {
        let half = width.div_ceil(2);
        match self {
            Self::Rgb888 | Self::Bgr888 => [width * 3, 0, 0],
            Self::Yuv420 => [width, half, half],
            Self::Nv12 => [width, half * 2, 0],
        }
    }

    /// Rows of each plane for a `height`-pixel-high image.
    pub fn plane_rows(self, height: usize) -> [usize; 3] {
        let half = height.div_ceil(2);
        match self {
            Self::Rgb888 | Self::Bgr888 => [height, 0, 0],
            Self::Yuv420 => [height, half, half],
            Self::Nv12 => [height, half, 0],
        }
    }
}

/// JPEG chroma subsampling for RGB input (YUV input keeps its own 4:2:0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Subsampling {
    #[serde(rename = "444")]
    S444,
    #[serde(rename = "422")]
    S422,
    #[default]
    #[serde(rename = "420")]
    S420,
    #[serde(rename = "gray")]
    Gray,
}

/// Default `max_pixels` of the sources that take JPEGs from outside: 16 megapixels (more than
/// any Raspberry Pi camera's sensor), i.e. at most 16 MiB of decode scratch (64 MiB for CMYK).
pub const DEFAULT_MAX_PIXELS: u64 = 16 * 1024 * 1024;
/// Largest `max_pixels` accepted: 64 megapixels.
pub const MAX_PIXELS_LIMIT: u64 = 64 * 1024 * 1024;

/// Checks a `max_pixels` value.
pub fn check_max_pixels(value: u64) -> Result<(), String> {
    if (1..=MAX_PIXELS_LIMIT).contains(&value) {
        Ok(())
    } else {
        Err(format!(
            "must be between 1 and {MAX_PIXELS_LIMIT} (64 megapixels)"
        ))
    }
}

/// Checks that `url` is an `http://` or `https://` URL with a host; the message says what is
/// wrong. Used by the sources that fetch from a URL (`http`, `relay`).
pub fn check_http_url(url: &str) -> Result<(), String> {
    let uri: http::Uri = url.parse().map_err(|e| format!("{e}"))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        _ => return Err("must start with http:// or https://".into()),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err("has no host".into());
    }
    Ok(())
}
