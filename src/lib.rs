//! streamserver: one latest JPEG per stream, handed to every HTTP client as fast as it can take it.
//!
//! The modules in data-flow order (each depends only on modules listed after it):
//!
//! - [`cmd`]: the command line (`streamserver`, `check-config`, `probe`, `list-cameras`,
//!   `hash-password`, `new-token`).
//! - [`app`]: the one place that wires source → slot → http and shuts them down in order.
//! - [`http`]: the hyper server: routes and the permission each needs, MJPEG stream bodies,
//!   snapshots, viewer, health, `/api/state`, `/metrics`, TLS, connection limits that hold
//!   under abuse, socket tuning for slow clients.
//! - [`auth`]: who may watch, read the status or control a camera: users, passwords (argon2id),
//!   tokens, address ranges, failed-login throttling.
//! - [`supervise`]: starts a stream's source on its thread, restarts it with capped backoff
//!   inside a restart budget, shows a placeholder while it is down; the source's state.
//! - [`source`]: where frames come from, each on its own OS thread: `test_pattern`, `camera`
//!   (libcamera in the `streamserver-camera` helper process, and the protocol to it), `folder`,
//!   `snapshot_poll` (`source = "http"`), `relay` (another MJPEG URL).
//! - [`probe`]: an MJPEG client that measures a stream (also the benchmarks' load client), and
//!   the hostile traffic of the attack drills (loopback only).
//! - [`mjpeg`]: the MJPEG wire format: what we write, the multipart parser, the MJPEG client.
//! - [`http_client`]: the one HTTP client (hyper + rustls) of the `http` and `relay` sources and
//!   the probe.
//! - [`pipeline`]: encoder (libjpeg-turbo), encode pool, the latest-frame slot, demand, stats,
//!   the sink sources publish into (and the output the pool publishes through), canvas and
//!   placeholder pictures.
//! - [`logging`], [`shutdown`], [`systemd`]: rotating log files, the one shutdown signal,
//!   `sd_notify` readiness and watchdog.
//! - [`config`]: the typed `config.toml`, the whole schema; errors name key and line.
//! - [`util`]: helpers several stages share (panic messages, error chains, URL redaction).
//!
//! Where things live: an endpoint → `http::routes`; a config key → `config` (its section's
//! file); a source → `source::<name>`.

pub mod app;
pub mod auth;
pub mod cmd;
pub mod config;
pub mod http;
pub mod http_client;
pub mod logging;
pub mod mjpeg;
pub mod pipeline;
pub mod probe;
pub mod shutdown;
pub mod source;
pub mod supervise;
pub mod systemd;
pub mod util;
