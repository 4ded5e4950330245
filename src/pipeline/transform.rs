//! What happens to a raw frame between its capture and its encoding, in the encoding worker that
//! owns a copy of it: a quarter turn (`rotation = 90 | 270`; half turns and mirrors are done by
//! the sensor), then the overlay (`[stream.overlay]`), drawn into the turned frame so that the
//! text stands upright.
//!
//! A [`Transform`] is the stream's setting; each worker keeps a [`Transformer`] (the turned
//! planes' buffers and the overlay's text of the current second), so nothing is allocated per
//! frame. Without a turn or an overlay a frame passes through untouched.

use std::time::SystemTime;

use super::encoder::{FrameMut, RawFrame};
use super::overlay::Overlay;
use super::rotate::{QuarterTurn, Rotator};
use crate::config::OverlayConfig;

/// A stream's transform of its raw frames.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transform {
    /// A quarter turn after capture (the camera's `rotation` 90 or 270).
    pub turn: Option<QuarterTurn>,
    /// The text drawn over the picture (none when its text is empty).
    pub overlay: OverlayConfig,
}

impl Transform {
    /// Frames pass through untouched.
    pub fn is_identity(&self) -> bool {
        self.turn.is_none() && !self.overlay.is_enabled()
    }
}

/// One encoding worker's transformer.
#[derive(Debug)]
pub struct Transformer {
    turn: Option<QuarterTurn>,
    rotator: Rotator,
    overlay: Option<Overlay>,
}

impl Transformer {
    pub fn new(transform: &Transform) -> Self {
        Self {
            turn: transform.turn,
            rotator: Rotator::default(),
            overlay: Overlay::new(&transform.overlay),
        }
    }

    /// `frame` (the worker's own copy, which the overlay may draw into) turned and written on,
    /// ready to encode; `captured_at` is the time the overlay shows.
    pub fn apply<'a>(&'a mut self, frame: FrameMut<'a>, captured_at: SystemTime) -> RawFrame<'a> {
        let mut out = match self.turn {
            Some(turn) => self.rotator.rotate(&frame.into_raw(), turn),
            None => frame,
        };
        if let Some(overlay) = &mut self.overlay {
            overlay.draw(&mut out, captured_at);
        }
        out.into_raw()
    }
}

#[cfg(test)]
mod tests;
