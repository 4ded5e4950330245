//! The frame pipeline shared by every source: raw pictures → JPEG → the stream's one slot.
//!
//! - [`encoder`]: raw RGB/BGR/I420/NV12 frames → JPEG with libjpeg-turbo, buffers reused.
//! - [`encode_pool`]: N encoding threads fed by a capture thread: newest frame only, capture
//!   order kept, idle mode when nobody wants frames.
//! - [`slot`]: the single-slot latest-frame buffer ([`slot::LatestFrame`]) with sequence numbers.
//! - [`demand`]: when someone last asked for a frame (idle mode).
//! - [`sink`]: slot + counters + demand, what a source publishes into.
//! - [`stats`]: per-stream counters for `/api/state` and `/metrics`.
//! - [`canvas`]: drawing boxes and text into a YUV picture (test pattern, placeholder).
//! - [`overlay`]: text (a time, a label) drawn into raw frames before encoding.
//! - [`placeholder`]: the "stream is down" JPEG.
//! - [`rotate`]: quarter turns of raw frames (`rotation = 90 | 270`).
//! - [`transform`]: turn + overlay, applied by each encoding worker to its copy of a frame.

pub mod canvas;
pub mod demand;
pub mod encode_pool;
pub mod encoder;
pub mod overlay;
pub mod placeholder;
pub mod rotate;
pub mod sink;
pub mod slot;
pub mod stats;
pub mod transform;
