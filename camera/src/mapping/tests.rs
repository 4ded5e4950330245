//! Unit tests of `mapping`.

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
    let jpeg = streamserver::pipeline::encoder::Encoder::new(&Default::default())
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
    streamserver::pipeline::encoder::Encoder::new(&Default::default())
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
