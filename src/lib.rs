//! streamserver: one latest JPEG per stream, handed to every HTTP client as fast as it can take it.
//!
//! The module layout follows the data flow (see `DESIGN.md`):
//!
//! - [`config`]: the typed `config.toml` (server, logging, `[[stream]]`s); errors name key and line.
//! - [`source`]: frame sources running on their own OS thread (`test` pattern today; `camera`,
//!   `folder`, `http`, `relay` behind the same [`source::FrameSource`] trait).
//! - [`encoder`]: raw RGB/BGR/I420/NV12 frames → JPEG with libjpeg-turbo, buffers reused.
//! - [`encode_pool`]: N encoding threads fed by a capture thread: newest frame only, order kept,
//!   idle mode when nobody wants frames.
//! - [`frame`]: the single-slot latest-frame buffer ([`frame::LatestFrame`]) with sequence numbers.
//! - [`supervisor`]: starts a source, watches for errors and stalls, restarts it with capped
//!   backoff inside a restart budget, publishes a placeholder while it is down.
//! - [`placeholder`]: the "stream is down" JPEG.
//! - [`stats`]: per-stream counters shared by the state/metrics endpoints.
//! - [`http`]: the hyper server: MJPEG streams, snapshots, viewer, health, state, metrics.
//! - [`logging`]: tracing to the console and rotating `main.log` / `error.log`.
//! - [`shutdown`]: the one shutdown signal (SIGTERM/SIGINT; a second signal exits at once).
//! - [`systemd`]: `sd_notify` readiness and watchdog pings.
//! - [`multipart`]: incremental, bounded multipart/x-mixed-replace parser (probe, relay, tests).
//! - [`mjpeg_client`]: the MJPEG client connection (hyper http1) shared by probe and relay.
//! - [`probe`]: an MJPEG client that measures a stream (also the benchmark load client).
//! - [`app`]: wires source → slot → http and shuts them down in order.
//! - [`bench`]: the `streamserver-bench` measurements (encode, fan-out) behind `BENCHMARKS.md`.

pub mod app;
pub mod auth;
pub mod bench;
pub mod canvas;
pub mod config;
pub mod encode_pool;
pub mod encoder;
pub mod frame;
pub mod http;
pub mod logging;
pub mod mjpeg_client;
pub mod multipart;
pub mod placeholder;
pub mod probe;
pub mod shutdown;
pub mod source;
pub mod stats;
pub mod supervisor;
pub mod systemd;
