//! The placeholder frame shown while a stream's source is down.
//!
//! Clients stay connected through source failures; instead of live pictures they get a JPEG that
//! states the stream id, why it is down and since when (UTC), so a person looking at a browser,
//! OctoPrint or a go2rtc dashboard sees what happened.

use std::time::SystemTime;

use bytes::Bytes;

use crate::config::EncoderConfig;
use crate::pipeline::canvas::{Canvas, Yuv};
use crate::pipeline::encoder::{EncodeError, Encoder, PixelFormat};

/// Renders the placeholder JPEG (`width`×`height`, 640×480 when unknown).
pub fn render(
    stream_id: &str,
    reason: &str,
    at: SystemTime,
    width: u32,
    height: u32,
) -> Result<Bytes, EncodeError> {
    render_lines(
        stream_id,
        "is down",
        reason,
        at,
        "retrying...",
        width,
        height,
    )
}

/// A notice on the stream instead of the "down" wording: `stream <id> <headline>`, the
/// explanation, the time (e.g. a camera stream paused to free the camera).
pub fn render_notice(
    stream_id: &str,
    headline: &str,
    explanation: &str,
    at: SystemTime,
    width: u32,
    height: u32,
) -> Result<Bytes, EncodeError> {
    render_lines(stream_id, headline, explanation, at, "", width, height)
}

fn render_lines(
    stream_id: &str,
    headline: &str,
    reason: &str,
    at: SystemTime,
    footer: &str,
    width: u32,
    height: u32,
) -> Result<Bytes, EncodeError> {
    let (w, h) = if width == 0 || height == 0 {
        (640, 480)
    } else {
        (width as usize, height as usize)
    };
    let mut canvas = Canvas::new(w, h);
    canvas.fill_rect(0, 0, w, h, Yuv::GREY);
    let scale = (w / 400).clamp(1, 4);
    let cols = (w / (8 * scale)).saturating_sub(2).max(8);
    let mut lines = vec![format!("stream {stream_id} {headline}"), String::new()];
    lines.extend(wrap(reason, cols));
    lines.push(String::new());
    lines.push(format!("since {}", utc(at)));
    if !footer.is_empty() {
        lines.push(footer.into());
    }
    let line_h = 12 * scale;
    let top = h.saturating_sub(lines.len() * line_h) / 2;
    for (i, line) in lines.iter().enumerate() {
        let x = w.saturating_sub(Canvas::text_width(line, scale)) / 2;
        canvas.draw_text(x, top + i * line_h, scale, line, Yuv::WHITE);
    }
    let mut encoder = Encoder::new(&EncoderConfig::default())?;
    encoder.encode(&canvas.raw_frame(PixelFormat::Yuv420))
}

/// `YYYY-MM-DD HH:MM:SS UTC` without a date crate (civil-from-days, Howard Hinnant's algorithm).
pub fn utc(at: SystemTime) -> String {
    let secs = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// Greedy word wrap to `cols` characters; words longer than a line are cut.
fn wrap(text: &str, cols: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut cur = String::new();
    for word in text.split_whitespace() {
        let mut word = word;
        while word.chars().count() > cols {
            if !cur.is_empty() {
                lines.push(std::mem::take(&mut cur));
            }
            let cut = word
                .char_indices()
                .nth(cols)
                .map(|(i, _)| i)
                .unwrap_or(word.len());
            lines.push(word[..cut].to_string());
            word = &word[cut..];
        }
        if !cur.is_empty() && cur.chars().count() + 1 + word.chars().count() > cols {
            lines.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(word);
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines.truncate(6);
    lines
}

#[cfg(test)]
mod tests;
