//! A frame buffer's planes mapped into memory once, for the life of a capture run.
//!
//! libcamera hands out frame buffers as dma-buf file descriptors with per-plane offsets and
//! lengths; planes often share one fd. [`MappedBuffer::map`] maps each distinct fd once
//! (read-only, shared), and [`MappedBuffer::planes`] returns the plane slices without any
//! per-frame work. Mapping failures are errors (the libcamera crate's own mapper panics on
//! them), so a camera whose buffers cannot be mapped fails like any other camera fault.
//! [`Layout`] turns the mapped planes into the encoder's [`RawFrame`], also when a camera puts
//! all planes of a YUV format into one.

use std::io;
use std::os::fd::RawFd;

use streamserver::pipeline::encoder::{PixelFormat, Plane, RawFrame};

/// The negotiated picture: format, size and the row stride of the first plane (bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    pub format: PixelFormat,
    pub width: usize,
    pub height: usize,
    pub stride: usize,
}

impl Layout {
    /// Row strides of each plane: I420's chroma rows are half the luma stride, NV12's the same.
    pub fn strides(&self) -> [usize; 3] {
        let stride = self.stride.max(self.format.min_strides(self.width)[0]);
        match self.format {
            PixelFormat::Rgb888 | PixelFormat::Bgr888 => [stride, 0, 0],
            PixelFormat::Yuv420 => [stride, stride / 2, stride / 2],
            PixelFormat::Nv12 => [stride, stride, 0],
        }
    }

    /// The frame in `planes` (as many as the buffer has). A single plane holding a multi-plane
    /// format is split at the plane sizes; the encoder checks every plane's length.
    pub fn raw_frame<'a>(&self, planes: [&'a [u8]; 3], count: usize) -> RawFrame<'a> {
        let strides = self.strides();
        let rows = self.format.plane_rows(self.height);
        let mut data = planes;
        if count == 1 && self.format.planes() > 1 {
            let mut rest = planes[0];
            for (i, slot) in data.iter_mut().enumerate().take(self.format.planes()) {
                let size = (strides[i] * rows[i]).min(rest.len());
                let (head, tail) = rest.split_at(size);
                *slot = head;
                rest = tail;
            }
        }
        let plane = |i: usize| Plane {
            data: data[i],
            stride: strides[i],
        };
        RawFrame {
            format: self.format,
            width: self.width,
            height: self.height,
            planes: [plane(0), plane(1), plane(2)],
        }
    }
}

/// Where one plane lives: `len` bytes at `offset` in `fd`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlaneSpec {
    pub fd: RawFd,
    pub offset: usize,
    pub len: usize,
}

/// Up to three mapped planes; unmapped on drop.
pub struct MappedBuffer {
    /// (address, length) of each mapping, one per distinct fd.
    maps: Vec<(*mut libc::c_void, usize)>,
    /// (address, length) of each plane inside the mappings.
    planes: Vec<(*const u8, usize)>,
}

// SAFETY: the mappings are plain shared memory owned by this value; moving it to another thread
// moves the ownership (nothing here is tied to the thread that mapped it).
unsafe impl Send for MappedBuffer {}

impl MappedBuffer {
    /// Maps `planes` (read-only). Fails if there are none, more than three, or mmap fails.
    pub fn map(planes: &[PlaneSpec]) -> io::Result<Self> {
        if planes.is_empty() || planes.len() > 3 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("a frame buffer with {} planes", planes.len()),
            ));
        }
        // SAFETY: sysconf has no preconditions.
        let page = match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
            n if n > 0 => n as usize,
            _ => 4096,
        };
        let mut out = MappedBuffer {
            maps: Vec::new(),
            planes: Vec::new(),
        };
        let mut fds: Vec<RawFd> = planes.iter().map(|p| p.fd).collect();
        fds.dedup();
        let mut bases = Vec::new(); // (fd, address, start offset of the mapping)
        for fd in fds {
            if bases.iter().any(|&(f, _, _)| f == fd) {
                continue;
            }
            let on_fd = planes.iter().filter(|p| p.fd == fd);
            let start = on_fd.clone().map(|p| p.offset).min().unwrap_or(0) / page * page;
            let end = on_fd.map(|p| p.offset + p.len).max().unwrap_or(0);
            let len = end - start;
            // off_t is 32 bits on 32-bit ARM (armv7): an offset it cannot hold is a clear error
            // (a cast would wrap it to a negative offset that mmap rejects with EINVAL).
            let offset = libc::off_t::try_from(start).map_err(|_| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("a plane offset of {start} bytes does not fit mmap's offset"),
                )
            })?;
            // SAFETY: a fresh read-only shared mapping of `len` bytes of `fd` at a page-aligned
            // offset; the kernel checks fd and range. The result is checked against MAP_FAILED.
            let addr = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    len,
                    libc::PROT_READ,
                    libc::MAP_SHARED,
                    fd,
                    offset,
                )
            };
            if addr == libc::MAP_FAILED {
                return Err(io::Error::last_os_error()); // `out` unmaps what was mapped
            }
            out.maps.push((addr, len));
            bases.push((fd, addr, start));
        }
        for p in planes {
            let &(_, addr, start) = bases.iter().find(|&&(f, _, _)| f == p.fd).expect("mapped");
            // SAFETY: offset - start + len lies inside the mapping made for this fd above.
            let ptr = unsafe { (addr as *const u8).add(p.offset - start) };
            out.planes.push((ptr, p.len));
        }
        Ok(out)
    }

    /// The mapped planes, in the buffer's plane order (unused entries are empty).
    pub fn planes(&self) -> [&[u8]; 3] {
        let mut out: [&[u8]; 3] = [&[], &[], &[]];
        for (slot, &(ptr, len)) in out.iter_mut().zip(&self.planes) {
            // SAFETY: ptr..ptr+len lies in a live mapping owned by self (unmapped only on drop).
            *slot = unsafe { std::slice::from_raw_parts(ptr, len) };
        }
        out
    }

    pub fn plane_count(&self) -> usize {
        self.planes.len()
    }
}

impl Drop for MappedBuffer {
    fn drop(&mut self) {
        for &(addr, len) in &self.maps {
            // SAFETY: each (addr, len) is a mapping made by `map` and unmapped only here.
            unsafe { libc::munmap(addr, len) };
        }
    }
}

#[cfg(test)]
mod tests;
