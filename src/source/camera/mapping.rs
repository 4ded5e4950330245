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

use crate::encoder::{PixelFormat, Plane, RawFrame};

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
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::fd::{AsRawFd, FromRawFd};

    fn memfd(bytes: &[u8]) -> std::fs::File {
        // SAFETY: memfd_create with a static name; the fd is owned by the returned File.
        let fd = unsafe { libc::memfd_create(c"mapping-test".as_ptr(), libc::MFD_CLOEXEC) };
        assert!(fd >= 0, "memfd_create: {}", io::Error::last_os_error());
        let mut f = unsafe { std::fs::File::from_raw_fd(fd) };
        f.write_all(bytes).unwrap();
        f
    }

    #[test]
    fn planes_sharing_one_fd_are_mapped_at_their_offsets() {
        let page = 4096;
        let data: Vec<u8> = (0..3 * page).map(|i| (i % 251) as u8).collect();
        let f = memfd(&data);
        let fd = f.as_raw_fd();
        let specs = [
            PlaneSpec {
                fd,
                offset: 0,
                len: 100,
            },
            PlaneSpec {
                fd,
                offset: page + 10,
                len: 50,
            },
            PlaneSpec {
                fd,
                offset: 2 * page + 1,
                len: page - 1,
            },
        ];
        let m = MappedBuffer::map(&specs).unwrap();
        assert_eq!(m.maps.len(), 1, "one mapping per fd");
        let [a, b, c] = m.planes();
        assert_eq!(a, &data[..100]);
        assert_eq!(b, &data[page + 10..page + 60]);
        assert_eq!(c, &data[2 * page + 1..3 * page]);
        assert_eq!(m.plane_count(), 3);
    }

    #[test]
    fn planes_on_separate_fds_and_a_plane_at_an_unaligned_offset() {
        let f1 = memfd(&[1u8; 5000]);
        let f2 = memfd(&[2u8; 9000]);
        let specs = [
            PlaneSpec {
                fd: f1.as_raw_fd(),
                offset: 0,
                len: 5000,
            },
            PlaneSpec {
                fd: f2.as_raw_fd(),
                offset: 4100,
                len: 4900,
            },
        ];
        let m = MappedBuffer::map(&specs).unwrap();
        let [a, b, c] = m.planes();
        assert!(a.len() == 5000 && a.iter().all(|&x| x == 1));
        assert!(b.len() == 4900 && b.iter().all(|&x| x == 2));
        assert!(c.is_empty());
    }

    #[test]
    fn one_plane_holding_nv12_is_split_at_the_luma_plane_with_stride() {
        let (w, h, stride) = (6, 4, 8);
        let mut buf = vec![0u8; stride * h + stride * h / 2];
        buf[stride * h] = 77; // first U sample
        let layout = Layout {
            format: PixelFormat::Nv12,
            width: w,
            height: h,
            stride,
        };
        let f = layout.raw_frame([&buf, &[], &[]], 1);
        assert_eq!(f.planes[0].data.len(), stride * h);
        assert_eq!(f.planes[1].data[0], 77);
        assert_eq!((f.planes[0].stride, f.planes[1].stride), (8, 8));
        let jpeg = crate::encoder::Encoder::new(Default::default())
            .unwrap()
            .encode(&f)
            .unwrap();
        assert_eq!(&jpeg[..2], &[0xff, 0xd8]);
    }

    #[test]
    fn i420_in_one_plane_gets_three_planes_with_half_strides() {
        let (w, h) = (8, 4);
        let buf = vec![9u8; w * h * 3 / 2];
        let layout = Layout {
            format: PixelFormat::Yuv420,
            width: w,
            height: h,
            stride: 0,
        };
        let f = layout.raw_frame([&buf, &[], &[]], 1);
        let lens: Vec<usize> = f.planes.iter().map(|p| p.data.len()).collect();
        assert_eq!(lens, [32, 8, 8]);
        assert_eq!([f.planes[1].stride, f.planes[2].stride], [4, 4]);
        // Separate planes are used as they are.
        let g = layout.raw_frame([&buf[..32], &buf[32..40], &buf[40..]], 3);
        assert_eq!(g.planes[2].data.len(), 8);
        crate::encoder::Encoder::new(Default::default())
            .unwrap()
            .encode(&g)
            .unwrap();
    }

    #[test]
    fn a_bad_fd_or_plane_count_is_an_error_not_a_panic() {
        let bad = [PlaneSpec {
            fd: -1,
            offset: 0,
            len: 10,
        }];
        assert!(MappedBuffer::map(&bad).is_err());
        assert!(MappedBuffer::map(&[]).is_err());
        let f = memfd(&[0; 10]);
        let four = [PlaneSpec {
            fd: f.as_raw_fd(),
            offset: 0,
            len: 1,
        }; 4];
        assert!(MappedBuffer::map(&four).is_err());
    }

    #[test]
    fn an_offset_mmap_cannot_take_is_a_clear_error() {
        let f = memfd(&[0; 10]);
        // One past off_t's range: 2^31 on 32-bit ARM, 2^63 on 64-bit targets; page aligned.
        let offset = usize::try_from(libc::off_t::MAX).unwrap() + 1;
        let plane = [PlaneSpec {
            fd: f.as_raw_fd(),
            offset,
            len: 1,
        }];
        let err = MappedBuffer::map(&plane)
            .err()
            .expect("an offset beyond off_t");
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains(&offset.to_string()), "{err}");
    }
}
