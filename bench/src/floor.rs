//! The floor server: `../shared/bench/floor-server.c` next to the repository, the least work an
//! MJPEG server can do per delivered frame (one thread, epoll, one `writev` per frame and client,
//! `TCP_NOTSENT_LOWAT`). The fan-out and folder benchmarks build it with `cc -O2` into the
//! directory of the bench binary (only when it is missing or older than the source) and run it
//! next to ours on the same frames. It is a yardstick, not part of this repository.

use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, thiserror::Error)]
pub enum FloorError {
    #[error(
        "floor server source {0} not found: the fan-out and folder benchmarks compare against \
         ../shared/bench/floor-server.c next to the repository; pass --floor-src PATH"
    )]
    NoSource(PathBuf),
    #[error("cannot run `cc` to build the floor server (install gcc or clang)")]
    NoCc(#[source] std::io::Error),
    #[error("`cc` failed to build {src}:\n{stderr}")]
    Cc { src: PathBuf, stderr: String },
    #[error("cannot create {0}")]
    OutDir(PathBuf, #[source] std::io::Error),
}

/// `<repository>/../shared/bench/floor-server.c`, the repository being this crate's parent.
pub fn default_source() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/bench/floor-server.c")
}

/// Builds `src` into `out_dir/floor-server` unless an up-to-date binary is there; its path.
pub fn build(src: &Path, out_dir: &Path) -> Result<PathBuf, FloorError> {
    let mtime = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let src_time = mtime(src)
        .filter(|_| src.is_file())
        .ok_or_else(|| FloorError::NoSource(src.to_owned()))?;
    let bin = out_dir.join("floor-server");
    if mtime(&bin).is_some_and(|b| b >= src_time) {
        return Ok(bin);
    }
    std::fs::create_dir_all(out_dir).map_err(|e| FloorError::OutDir(out_dir.to_owned(), e))?;
    let out = Command::new("cc")
        .args(["-O2", "-o"])
        .arg(&bin)
        .arg(src)
        .output()
        .map_err(FloorError::NoCc)?;
    if !out.status.success() {
        return Err(FloorError::Cc {
            src: src.to_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    Ok(bin)
}

#[cfg(test)]
mod tests;
